"""Run every benchmark and print one table: benchmark, figure, value, baseline, ratio.

By default each benchmark runs with the settings `make bench` uses (its own defaults but
half the staff page requests), about 10 minutes on a 2-core machine; `--full` uses each
benchmark's own defaults. Progress goes to stderr, the table to stdout.

Run: .venv/bin/python -m bench.all [--full] [--only load,staff]
"""

import argparse
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import capture_size, export, load, staff  # noqa: E402
from bench.common import Figure  # noqa: E402

# The arguments each benchmark gets from `make bench`: its own command line, shortened.
MAKE_BENCH_ARGUMENTS = {
    "capture_size": (capture_size, []),
    "load": (load, ["--seconds", "10"]),
    "staff": (staff, ["--leads", "1000000", "--requests", "100"]),
    "export": (export, ["--sizes", "100000,1000000"]),
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
    options.add_argument("--full", action="store_true", help="each benchmark's own defaults")
    options.add_argument("--only", default=",".join(MAKE_BENCH_ARGUMENTS),
                         help="comma-separated benchmarks to run")  # fmt: skip
    args = options.parse_args()
    rows = []
    started = time.monotonic()
    for name in args.only.split(","):
        module, arguments = MAKE_BENCH_ARGUMENTS[name]
        print(f"[{time.monotonic() - started:5.0f} s] {name} {' '.join(arguments)}",
              file=sys.stderr, flush=True)  # fmt: skip
        rows += module.figures(module.parser().parse_args([] if args.full else arguments))
    print(f"[{time.monotonic() - started:5.0f} s] done", file=sys.stderr, flush=True)
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
