"""Print the capture script's size as served against the 2,048-byte gzip budget (SPEC §1).

Also against the tighter 1,800-byte target the script is held to.
Run: .venv/bin/python bench/capture_size.py   (exit status 1 when over budget)
"""

import argparse
import gzip
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Figure  # noqa: E402
from capture.script import GZIP_BUDGET, SOURCE, build_script  # noqa: E402

GZIP_TARGET = 1800


def parser() -> argparse.ArgumentParser:
    """Return the command line, which takes no options."""
    return argparse.ArgumentParser(description=__doc__.splitlines()[0])


def sizes() -> list[tuple[str, int]]:
    """Return the script's size at each step from source to what is served."""
    built = build_script()
    return [
        ("source file", len(SOURCE.read_bytes())),
        ("registry injected", len(built.source.encode())),
        ("minified", len(built.minified)),
        ("gzip -9 (stdlib)", len(gzip.compress(built.minified, 9))),
        ("gzip as served (zopfli)", len(built.gzipped)),
    ]


def figures(args) -> list[Figure]:
    """Return the minified size, and the served size against the budget and the target."""
    measured = dict(sizes())
    served = measured["gzip as served (zopfli)"]
    return [
        Figure("capture_size", "capture.js minified bytes", measured["minified"]),
        Figure("capture_size", "capture.js gzip bytes as served, vs budget", served, GZIP_BUDGET),
        Figure("capture_size", "capture.js gzip bytes as served, vs target", served, GZIP_TARGET),
    ]


def main() -> int:
    """Print the sizes and whether the served script fits the budget and the target."""
    parser().parse_args()
    measured = sizes()
    for label, size in measured:
        print(f"{label:<26}{size:>7} bytes")
    served = measured[-1][1]
    for label, limit in (("budget", GZIP_BUDGET), ("target", GZIP_TARGET)):
        print(f"{label:<26}{limit:>7} bytes")
        print(f"served / {label} = {served / limit:.3f}, margin {limit - served} bytes")
    return 0 if served <= GZIP_BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
