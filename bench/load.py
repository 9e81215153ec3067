"""Clicks and leads under gunicorn against a hello-world app, on SQLite and PostgreSQL.

Each client is a stream of visitors: it registers a new click (POST /capture/clicks),
then posts a lead carrying that click ID (POST /leads), for a fixed time. Prints, per kind
of post, acknowledged posts/s, p50/p99 latency, errors, the ratio to the baseline, and
lost posts (acknowledged but not stored: must be 0). The baseline, a hello-world app
answering both routes, runs just before with the same gunicorn settings and clients.

Run: .venv/bin/python bench/load.py [--seconds 10] [--clients 16]
"""

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Figure, Gunicorn, bench_environment, fresh_postgres, upgrade  # noqa: E402
from bench.workload import Load, lost_posts, run_load, visitor_workload  # noqa: E402

KINDS = ("clicks", "leads")


def parser() -> argparse.ArgumentParser:
    """Return the command line: how long, how many clients, what gunicorn runs."""
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--seconds", type=float, default=10)
    options.add_argument("--clients", type=int, default=16)
    options.add_argument("--workers", type=int, default=2)
    options.add_argument("--threads", type=int, default=4)
    return options


def run(target: str, database_url: str | None, args) -> tuple[dict[str, Load], dict]:
    """Serve a target under gunicorn, load it, and count what it lost."""
    env = bench_environment(database_url)
    if database_url:
        upgrade(env)
    server = Gunicorn(target, env, args.workers, args.threads)
    try:
        loads = run_load(server.port, args.clients, args.seconds, visitor_workload())
    finally:
        server.stop()
    return loads, lost_posts(loads, database_url) if database_url else dict.fromkeys(loads, 0)


def measure(args) -> list[tuple[str, dict[str, Load], dict[str, int]]]:
    """Return (label, loads by kind, lost by kind) for the baseline, SQLite, PostgreSQL."""
    with tempfile.TemporaryDirectory() as folder:
        targets = [
            ("baseline", "bench.hello:app", None),
            ("SQLite", "wsgi:app", f"sqlite:///{folder}/bench.db"),
            ("PostgreSQL", "wsgi:app", fresh_postgres("closeloop_bench")),
        ]
        return [(label, *run(target, url, args)) for label, target, url in targets]


def figures(args) -> list[Figure]:
    """Return the rate and latencies per database and kind, errors and lost posts."""
    results = measure(args)
    _, baseline, _ = results[0]
    rows = []
    for label, loads, lost in results[1:]:
        for kind in KINDS:
            load, base = loads[kind], baseline[kind]
            rows += [
                Figure("load", f"{kind}/s, {label}", load.rate, base.rate),
                Figure("load", f"{kind} p50 ms, {label}", load.percentile(50), base.percentile(50)),
                Figure("load", f"{kind} p99 ms, {label}", load.percentile(99), base.percentile(99)),
                Figure("load", f"{kind} errors, {label}", load.errors, must_be_zero=True),
                Figure(
                    "load",
                    f"{kind} lost (acknowledged, not stored), {label}",
                    lost[kind],
                    must_be_zero=True,
                ),
            ]
    return rows


def main() -> int:
    args = parser().parse_args()
    print(f"{args.clients} clients, {args.seconds:.0f} s each, gunicorn {args.workers} "
          f"workers x {args.threads} threads, loopback; a click, then a lead with it")  # fmt: skip
    print(f"{'target':<12}{'kind':<8}{'posts/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
          f"{'ratio':>8}{'lost':>6}")  # fmt: skip
    results = measure(args)
    _, baseline, _ = results[0]
    failed = False
    for label, loads, lost in results:
        for kind in KINDS:
            load = loads[kind]
            failed = failed or lost[kind] > 0 or load.errors > 0
            print(f"{label:<12}{kind:<8}{load.rate:>9.0f}{load.percentile(50):>9.1f}"
                  f"{load.percentile(99):>9.1f}{load.errors:>8}"
                  f"{load.rate / baseline[kind].rate:>8.2f}{lost[kind]:>6}")  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
