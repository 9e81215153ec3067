"""Run every benchmark and print one table: benchmark, figure, value, baseline, ratio.

Each benchmark runs with its own defaults, about 10 minutes in all on a 2-core machine;
`--quick` shortens each (fewer seconds, leads and conversions) to about a minute, for a
smoke test. Progress goes to stderr, the table to stdout.

Run: .venv/bin/python -m bench.all [--quick] [--only load,staff]
"""

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import api, capture_size, export, load, staff  # noqa: E402
from bench.common import Figure  # noqa: E402

BENCHMARKS = {"capture_size": capture_size, "load": load, "api": api, "staff": staff,
              "export": export}  # fmt: skip
# What --quick passes to each benchmark's own command line.
QUICK_ARGUMENTS = {
    "capture_size": [],
    "load": ["--seconds", "3", "--rounds", "1"],
    "api": ["--seconds", "3"],
    "staff": ["--leads", "100000", "--requests", "50"],
    "export": ["--sizes", "10000,100000"],
}


def number(value: float | None) -> str:
    """Format a figure with as many decimals as its size deserves."""
    if value is None:
        return ""
    if math.isnan(value):
        return "n/a"
    if value == int(value) or abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def table(rows: list[Figure]) -> str:
    """Return the figures as one aligned, plain-text table."""
    cells = [("benchmark", "figure", "value", "baseline", "ratio")]
    cells += [(row.benchmark, row.figure, number(row.value), number(row.baseline),
               "" if row.ratio is None else f"{row.ratio:#.3g}") for row in rows]  # fmt: skip
    widths = [max(len(line[column]) for line in cells) for column in range(5)]
    lines = []
    for line in cells:
        left = [cell.ljust(width) for cell, width in zip(line[:2], widths, strict=False)]
        right = [cell.rjust(width) for cell, width in zip(line[2:], widths[2:], strict=False)]
        lines.append("  ".join(left + right).rstrip())
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--quick", action="store_true", help="shorter runs, for a smoke test")
    options.add_argument("--only", default=",".join(BENCHMARKS),
                         help="comma-separated benchmarks to run")  # fmt: skip
    args = options.parse_args()
    rows = []
    started = time.monotonic()
    for name in args.only.split(","):
        arguments = QUICK_ARGUMENTS[name] if args.quick else []
        print(f"[{time.monotonic() - started:5.0f} s] {name} {' '.join(arguments)}",
              file=sys.stderr, flush=True)  # fmt: skip
        module = BENCHMARKS[name]
        rows += module.figures(module.parser().parse_args(arguments))
    print(f"[{time.monotonic() - started:5.0f} s] done", file=sys.stderr, flush=True)
    print(table(rows))
    failed = [row for row in rows if row.must_be_zero and row.value]
    for row in failed:
        print(f"FAILED: {row.benchmark} {row.figure} = {row.value:g}, must be 0", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
