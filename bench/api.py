"""`PUT /api/v1/conversions/<external_id>` under gunicorn against a hello-world app, on
SQLite and PostgreSQL.

Each client records new conversions (a new external id per call) for leads seeded through
intake, with an API token, for a fixed time. Prints conversions/s, p50/p99 latency, errors,
the ratio to the baseline (a hello-world app answering the same route, same gunicorn
settings and clients, run just before) and lost calls (acknowledged but not stored: 0).

Run: .venv/bin/python bench/api.py [--seconds 10] [--clients 16]
"""

import argparse
import secrets
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Figure, Gunicorn, bench_environment, fresh_postgres, upgrade  # noqa: E402
from bench.workload import Post, lost_posts, run_load  # noqa: E402

LEADS = 500


def parser() -> argparse.ArgumentParser:
    """Return the command line: how long, how many clients, what gunicorn runs."""
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--seconds", type=float, default=10)
    options.add_argument("--clients", type=int, default=16)
    options.add_argument("--workers", type=int, default=2)
    options.add_argument("--threads", type=int, default=4)
    return options


def seed(database_url: str) -> tuple[str, list[str]]:
    """Return an API token and the ids of LEADS leads stored through intake a day ago."""
    from api.models import ApiToken
    from app import create_app
    from database import db
    from leads.models import Goal, Lead

    app = create_app({"DATABASE_URL": database_url, "TESTING": True,
                      "LEAD_RATE_LIMIT": "1000000 per minute"})  # fmt: skip
    now = datetime.now(UTC)
    with app.app_context():
        db.session.add(Goal(name="Signed contract", microsoft_goal_name="Signed contract",
                            google_action_name="Signed contract", microsoft_hashed=True,
                            google_enhanced=True, default_value=1500, default_currency="EUR",
                            window_days=90, created_at=now - timedelta(days=30)))  # fmt: skip
        token_row, token = ApiToken.issue("bench", ["conversions"], now, None)
        db.session.add(token_row)
        db.session.commit()
        client = app.test_client()
        ids = [client.post("/leads", json={"email": f"buyer{n}@example.com"}).get_json()["id"]
               for n in range(LEADS)]  # fmt: skip
        db.session.execute(db.update(Lead).values(created_at=now - timedelta(days=1)))
        db.session.commit()
        db.engine.dispose()
    return token, ids


def conversion_workload(token: str, lead_ids: list[str]):
    """Return a workload of new conversions, each under an external id of its own."""
    run, headers = secrets.token_hex(4), {"Authorization": f"Bearer {token}"}
    start = datetime.now(UTC) - timedelta(hours=1)

    def next_post(client: int, number: int) -> Post:
        # A time of its own: a lead's conversions to one goal at one time are one conversion.
        converted_at = (start - timedelta(minutes=client, seconds=number)).isoformat()
        body = {"lead_id": lead_ids[(client * 7919 + number) % len(lead_ids)],
                "goal": "Signed contract", "converted_at": converted_at,
                "value": "1500.00", "currency": "EUR"}  # fmt: skip
        path = f"/api/v1/conversions/{run}-{client}-{number}"
        return Post("conversions", path, body, method="PUT", headers=headers)

    return next_post


def run(target: str, database_url: str | None, args):
    env = bench_environment(database_url, CLOSELOOP_API_RATE_LIMIT="100000000 per minute")
    token, ids = "hello", ["lead"]
    if database_url:
        upgrade(env)
        token, ids = seed(database_url)
    server = Gunicorn(target, env, args.workers, args.threads)
    try:
        loads = run_load(server.port, args.clients, args.seconds, conversion_workload(token, ids))
    finally:
        server.stop()
    load = loads["conversions"]
    return load, lost_posts(loads, database_url)["conversions"] if database_url else 0


def measure(args):
    """Return (label, load, lost) for the baseline, SQLite and PostgreSQL."""
    with tempfile.TemporaryDirectory() as folder:
        targets = [
            ("baseline", "bench.hello:app", None),
            ("SQLite", "wsgi:app", f"sqlite:///{folder}/api.db"),
            ("PostgreSQL", "wsgi:app", fresh_postgres("closeloop_bench_api")),
        ]
        return [(label, *run(target, url, args)) for label, target, url in targets]


def figures(args) -> list[Figure]:
    """Return conversions/s and latencies per database against the baseline, errors, lost."""
    (_, baseline, _), *results = measure(args)
    rows = []
    for label, load, lost in results:
        rows += [
            Figure("api", f"PUT conversions/s, {label}", load.rate, baseline.rate),
            Figure("api", f"PUT p50 ms, {label}", load.percentile(50), baseline.percentile(50)),
            Figure("api", f"PUT p99 ms, {label}", load.percentile(99), baseline.percentile(99)),
            Figure("api", f"PUT errors, {label}", load.errors, must_be_zero=True),
            Figure("api", f"PUT lost, {label}", lost, must_be_zero=True),
        ]
    return rows


def main() -> int:
    args = parser().parse_args()
    print(f"{args.clients} clients, {args.seconds:.0f} s each, gunicorn {args.workers} "
          f"workers x {args.threads} threads, loopback; a new conversion per call")  # fmt: skip
    print(f"{'target':<12}{'calls/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'ratio':>8}"
          f"{'lost':>6}")  # fmt: skip
    results = measure(args)
    baseline = results[0][1]
    for label, load, lost in results:
        print(f"{label:<12}{load.rate:>9.0f}{load.percentile(50):>9.1f}"
              f"{load.percentile(99):>9.1f}{load.errors:>8}{load.rate / baseline.rate:>8.2f}"
              f"{lost:>6}")  # fmt: skip
    return 1 if any(lost or load.errors for _, load, lost in results) else 0


if __name__ == "__main__":
    sys.exit(main())
