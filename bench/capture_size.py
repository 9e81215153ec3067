"""Print the capture script's size as served against the 2,048-byte gzip budget (SPEC §1).

Run: .venv/bin/python bench/capture_size.py   (exit status 1 when over budget)
"""

import gzip
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from capture.script import GZIP_BUDGET, SOURCE, build_script  # noqa: E402


def main() -> int:
    """Print the sizes and whether the served script fits the budget."""
    built = build_script()
    rows = [
        ("source file", len(SOURCE.read_bytes())),
        ("registry injected", len(built.source.encode())),
        ("minified", len(built.minified)),
        ("gzip -9 (stdlib)", len(gzip.compress(built.minified, 9))),
        ("gzip as served (zopfli)", len(built.gzipped)),
    ]
    for label, size in rows:
        print(f"{label:<26}{size:>7} bytes")
    served = len(built.gzipped)
    print(f"{'budget':<26}{GZIP_BUDGET:>7} bytes")
    print(f"served / budget = {served / GZIP_BUDGET:.3f}, margin {GZIP_BUDGET - served} bytes")
    return 0 if served <= GZIP_BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
