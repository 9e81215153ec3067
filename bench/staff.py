"""Staff pages at 1,000,000 leads: the dashboard, the list, searches and the lead page
against /healthz.

Seeds the leads with bulk inserts, then times each page through the app (test client, a
signed-in sales member) and prints p50/p95 in milliseconds and the ratio of each p50 to
the /healthz baseline measured in the same run. Goal: p95 under 100 ms. The dashboard
shows a count for a minute; "counted again" is what its first view in a minute costs.

Run: .venv/bin/python bench/staff.py [--leads 1000000] [--requests 200]
                                    [--database sqlite|postgresql|both]
"""

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Figure, bench_environment, fresh_postgres, upgrade  # noqa: E402

BATCH = 20_000
PASSWORD = "benchmark password 123"


FIRST = ("Ada", "Björn", "Chloé", "Dmitri", "Elif", "François", "Grace", "Håkan", "Inés",
         "José", "Kenji", "Léa", "Mateo", "Nora", "Óscar", "Priya", "Quentin", "Rosa", "Søren",
         "Tomás")  # fmt: skip
STEMS = ("Lind", "Álvar", "Berg", "Núñ", "Kowal", "Okafor", "Müll", "Nakam", "Dubo", "Silv")
ENDINGS = ("", "son", "ez", "ski", "er", "ura", "is", "a", "berg", "ström")
LAST = tuple(f"{stem}{ending}" for stem in STEMS for ending in ENDINGS)


def lead_name(n: int) -> str:
    """Return a realistic name: 20 first names, 100 last names, accents included."""
    return f"{FIRST[n % len(FIRST)]} {LAST[(n // len(FIRST)) % len(LAST)]}"


TABLES = {
    "clicks": "id, platform, param, click_id, first_seen",
    "leads": "id, public_id, created_at, status, name, email, email_search, phone_e164, "
    "attribution, extra, fingerprint",
    "lead_click_ids": "id, lead_id, param, platform, value, valid, click_ref",
    "lead_search_words": "word, lead_id",
    "conversions": "id, lead_id, goal_id, converted_at, value, currency, created_at",
    "exported_conversions": "platform, conversion_id, file_id",
    "excluded_conversions": "platform, conversion_id, run_id, code, reason",
}
SEQUENCES = ("clicks", "leads", "lead_click_ids", "conversions")


def seed_rows(count: int):
    """Yield batches of {table: rows}: a year of leads, each after two clicks of one platform,
    half Microsoft and half Google; one lead in five converted two days after it arrived, and
    every conversion older than three days in a written export file (and excluded from the
    other platform, for want of its click ID)."""
    from leads.contact import search_words

    now = datetime.now(UTC).replace(tzinfo=None)
    start, step = now - timedelta(days=365), timedelta(days=365) / count
    exported_before = now - timedelta(days=3)
    for first in range(1, count + 1, BATCH):
        rows = {table: [] for table in TABLES}
        for n in range(first, min(first + BATCH, count + 1)):
            created = start + step * n
            platform, param, value = (
                ("microsoft", "msclkid", uuid.uuid4().hex) if n % 2
                else ("google", "gclid", "Cj0KCQjw" + uuid.uuid4().hex)
            )  # fmt: skip
            email, name = f"lead{n}@example.com", lead_name(n)
            status = "spam" if n % 100 == 0 else "new"
            rows["clicks"] += [(2 * n - 1, platform, param, f"other{n}", created - step),
                               (2 * n, platform, param, value, created - step / 2)]  # fmt: skip
            rows["leads"].append((n, f"p{n}", created, status, name, email, email,
                                  f"+1425{n:07d}", "{}", "{}", "f"))  # fmt: skip
            rows["lead_click_ids"].append((n, n, param, platform, value, True, 2 * n))
            rows["lead_search_words"] += [(word, n) for word in search_words(name)]
            if n % 10 in (1, 2):
                converted = created + timedelta(days=2)
                conversion = n // 10 * 2 + n % 10
                rows["conversions"].append((conversion, n, 1, converted, 100, "USD", converted))
                if converted < exported_before:
                    other = "google" if platform == "microsoft" else "microsoft"
                    rows["exported_conversions"].append((platform, conversion, 1))
                    rows["excluded_conversions"].append((other, conversion, 1, "no_key", "-"))
        yield rows


def seed_goal_and_file(execute) -> None:
    """Insert the goal "Sale" on both platforms and the export file the ledger points at."""
    now = datetime.now(UTC).replace(tzinfo=None)
    execute("INSERT INTO goals (id, name, microsoft_goal_name, google_action_name, "
            "microsoft_hashed, google_enhanced, window_days, created_at) "
            "VALUES (1, 'Sale', 'Sale', 'Sale', false, false, 90, ?)", (now,))  # fmt: skip
    execute("INSERT INTO export_runs (id, started_at, finished_at, host, status, skipped) "
            "VALUES (1, ?, ?, 'bench', 'finished', '{}')", (now, now))  # fmt: skip
    execute(
        "INSERT INTO export_files (id, run_id, goal_id, kind, part, conversion_name, "
        "optional_columns, path, rows, status) "
        "VALUES (1, 1, 1, 'microsoft-click', 1, 'Sale', false, 'bench.csv', 0, 'written')"
    )


def seed_sqlite(path: str, count: int) -> None:
    import sqlite3

    connection = sqlite3.connect(path)
    with connection:
        seed_goal_and_file(connection.execute)
        for batch in seed_rows(count):
            for table, columns in TABLES.items():
                marks = ",".join("?" * len(columns.split(",")))
                insert = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608
                connection.executemany(insert, batch[table])
    connection.execute("ANALYZE")
    connection.close()


def seed_postgres(url: str, count: int) -> None:
    import psycopg

    with psycopg.connect(url) as connection:
        with connection.cursor() as cursor:
            seed_goal_and_file(lambda sql, args=(): cursor.execute(sql.replace("?", "%s"), args))
            for batch in seed_rows(count):
                for table, columns in TABLES.items():
                    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                        for row in batch[table]:
                            copy.write_row(row)
            for table in SEQUENCES:
                cursor.execute(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
        connection.commit()
        connection.autocommit = True  # VACUUM, as autovacuum would have done after a load
        connection.execute("VACUUM ANALYZE")


def timings(client, urls, requests: int) -> list[float]:
    samples = []
    for _ in range(requests):
        url = urls() if callable(urls) else urls
        started = time.perf_counter()
        response = client.get(url)
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
    return samples


def measure(database_url: str, count: int, requests: int) -> list[tuple[str, float, float]]:
    """Seed the leads, then return (page, p50 ms, p95 ms), the /healthz baseline first."""
    upgrade(bench_environment(database_url))
    started = time.perf_counter()
    if database_url.startswith("sqlite"):
        seed_sqlite(database_url.removeprefix("sqlite:///"), count)
    else:
        seed_postgres(database_url, count)
    print(f"seeded {count:,} leads in {time.perf_counter() - started:.0f} s", file=sys.stderr)

    from app import create_app
    from database import db
    from leads.models import LeadClickId
    from staff.cli import add_staff

    app = create_app({"DATABASE_URL": database_url, "WTF_CSRF_ENABLED": False,
                      "ENVIRONMENT": "production", "SECRET_KEY": "b" * 40})  # fmt: skip
    with app.app_context():
        add_staff("bench@example.com", "sales", PASSWORD, "UTC")
        db.session.commit()
        sample_ids = random.sample(range(1, count + 1), min(requests, count))
        click_values = (
            db.session.execute(
                db.select(LeadClickId.value).where(LeadClickId.lead_id.in_(sample_ids))
            )
            .scalars()
            .all()
        )
    client = app.test_client()
    client.post("/staff/sign-in", data={"email": "bench@example.com", "password": PASSWORD})
    pick = random.Random(7)
    pages = [
        ("/healthz (baseline)", "/healthz"),
        ("leads list", "/staff/leads/"),
        ("leads list, page 2", None),
        ("search by email", lambda: f"/staff/leads/?q=lead{pick.choice(sample_ids)}@example.com"),
        ("dashboard (30 days)", "/staff/"),
        ("dashboard, counted again", "/staff/?recount=1"),
        ("search by word", lambda: f"/staff/leads/?q={pick.choice(LAST)[:4]}"),
        ("search by two words", lambda: f"/staff/leads/?q={lead_name(pick.choice(sample_ids))}"),
        ("search by click ID", lambda: f"/staff/leads/?q={pick.choice(click_values)}"),
        ("search by click-ID prefix", lambda: f"/staff/leads/?q={pick.choice(click_values)[:10]}"),
        ("search by phone", lambda: f"/staff/leads/?q=%2B1425{pick.choice(sample_ids):07d}"),
        ("lead page", lambda: f"/staff/leads/{pick.choice(sample_ids)}"),
    ]
    html = client.get("/staff/leads/").get_data(as_text=True)
    second = html.split('" id="next-page"')[0].rsplit('href="', 1)[1].replace("&amp;", "&")
    rows = []
    for label, url in pages:
        # Counting the period afresh takes about a second: fewer samples of it.
        samples = timings(
            client, url or second, requests // 10 if "recount" in str(url) else requests
        )
        rows.append((label, statistics.median(samples) * 1000,
                     statistics.quantiles(samples, n=20)[18] * 1000))  # fmt: skip
    with app.app_context():
        db.engine.dispose()
    return rows


def parser() -> argparse.ArgumentParser:
    """Return the command line: how many leads, how many requests per page, which database."""
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--leads", type=int, default=1_000_000)
    options.add_argument("--requests", type=int, default=200)
    options.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    return options


def each_database(args):
    """Yield (database, page timings) for each database asked for, as each is measured."""
    with tempfile.TemporaryDirectory() as folder:
        if args.database in ("sqlite", "both"):
            yield "SQLite", measure(f"sqlite:///{folder}/staff.db", args.leads, args.requests)
        if args.database in ("postgresql", "both"):
            url = fresh_postgres("closeloop_bench_staff")
            yield "PostgreSQL", measure(url, args.leads, args.requests)


def figures(args) -> list[Figure]:
    """Return each page's p50 and p95 against /healthz's, per database."""
    rows = []
    for database, (baseline, *pages) in each_database(args):
        _, base_p50, base_p95 = baseline
        for label, p50, p95 in pages:
            where = f"{database}, {args.leads:,} leads"
            rows += [Figure("staff", f"{label} p50 ms, {where}", p50, base_p50),
                     Figure("staff", f"{label} p95 ms, {where}", p95, base_p95)]  # fmt: skip
    return rows


def main() -> int:
    args = parser().parse_args()
    for database, pages in each_database(args):
        print(f"== {database}")
        print(f"{'page':<22}{'p50 ms':>9}{'p95 ms':>9}{'x baseline':>12}")
        baseline = pages[0][1]
        for label, p50, p95 in pages:
            print(f"{label:<22}{p50:>9.1f}{p95:>9.1f}{p50 / baseline:>12.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
