"""Lead intake under gunicorn against a hello-world Flask POST route, on SQLite and PostgreSQL.

Prints leads/s, p50/p99 latency, the ratio to the baseline and lost leads
(acknowledged but not stored: must be 0). The baseline runs in the same process, with the
same gunicorn settings and the same clients, just before the service.

Run: .venv/bin/python bench/intake.py [--seconds 10] [--clients 16]
"""

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Gunicorn, bench_environment, fresh_postgres, post_leads, upgrade  # noqa: E402

MSCLKID = "f894f652ea334e739002f7167ab8f8e3"


def lead_body(client: int, number: int) -> dict:
    return {
        "name": f"Bench Visitor {client}-{number}",
        "email": f"visitor{client}.{number}@example.com",
        "phone": "+1 425 555 0100",
        "msclkid": MSCLKID,
        "utm_source": "bing",
        "submission_id": f"bench-{client}-{number}",
    }


def stored_ids(database_url: str) -> set[str]:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as connection:
        ids = {row[0] for row in connection.execute(text("SELECT public_id FROM leads"))}
    engine.dispose()
    return ids


def run(target: str, database_url: str | None, args) -> tuple:
    env = bench_environment(database_url)
    if database_url:
        upgrade(env)
    server = Gunicorn(target, env, args.workers, args.threads)
    try:
        load = post_leads(server.port, args.clients, args.seconds, lead_body)
    finally:
        server.stop()
    lost = len(load.acknowledged - stored_ids(database_url)) if database_url else 0
    return load, lost


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        targets = [
            ("baseline (hello world)", "bench.hello:app", None),
            ("intake on SQLite", "wsgi:app", f"sqlite:///{folder}/bench.db"),
            ("intake on PostgreSQL", "wsgi:app", fresh_postgres("closeloop_bench")),
        ]
        print(f"{args.clients} clients, {args.seconds:.0f} s each, gunicorn "
              f"{args.workers} workers x {args.threads} threads, loopback")  # fmt: skip
        print(f"{'target':<24}{'leads/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
              f"{'ratio':>8}{'lost':>6}")  # fmt: skip
        baseline = None
        failed = False
        for label, target, database_url in targets:
            load, lost = run(target, database_url, args)
            baseline = baseline or load.rate
            failed = failed or lost > 0 or load.errors > 0
            print(f"{label:<24}{load.rate:>9.0f}{load.percentile(50):>9.1f}"
                  f"{load.percentile(99):>9.1f}{load.errors:>8}{load.rate / baseline:>8.2f}"
                  f"{lost:>6}")  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
