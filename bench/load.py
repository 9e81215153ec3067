"""Clicks and leads under gunicorn, driven by wrk, against a hello-world app, on SQLite and
PostgreSQL.

wrk (Debian's package, C) sends every request as a new visitor (bench/visitors.lua: click
IDs no other request carries) over 16 keep-alive connections from one thread, leaving the
cores to the servers. The baseline, a hello-world Flask app that parses the JSON body and
answers without storing anything (bench/hello.py), runs with the same gunicorn settings
(gunicorn.conf.py's, but for worker recycling and a socket per worker: see
bench/common.py); rounds alternate (baseline, SQLite, PostgreSQL, again) so that a slower
moment of the machine falls on all of them, after an uncounted warm-up of each server
(2 s per kind). Prints, per target and kind of post, answered posts/s, p50 and p99
latency, refused posts and broken connections, the ratio to the baseline, and lost posts:
acknowledged (2xx) minus the rows the round added, which must be 0.

A fourth target, clicks only, is the least a click can cost on SQLite (bench/floor.py): a
view that stores the click IDs in the service's table and writers' queue with sqlite3, and
does nothing else. The service's clicks can approach its rate, not pass it.

Run: .venv/bin/python bench/load.py [--seconds 10] [--rounds 3] [--warm-up 2]
     [--connections 16]
"""

import argparse
import json
import secrets
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Figure, Gunicorn, bench_environment, fresh_postgres, upgrade  # noqa: E402

KINDS = ("clicks", "leads")
SCRIPT = Path(__file__).resolve().parent / "visitors.lua"
# What an acknowledged post of each kind leaves in the database: one row.
STORED_COUNTS = {
    "clicks": "SELECT count(*) FROM clicks WHERE param = 'msclkid'",
    "leads": "SELECT count(*) FROM leads",
}


def parser() -> argparse.ArgumentParser:
    """Return the command line: how long, how many rounds and connections, what gunicorn runs."""
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--seconds", type=float, default=10, help="per round and target")
    options.add_argument("--rounds", type=int, default=3)
    options.add_argument("--warm-up", type=float, default=2, help="seconds, per target and kind")
    options.add_argument("--connections", type=int, default=16)
    options.add_argument("--workers", type=int, default=2)
    options.add_argument("--threads", type=int, default=4)
    return options


@dataclass
class Load:
    """What wrk saw of one kind of post on one target, summed over the rounds."""

    seconds: float = 0.0
    answered: int = 0
    refused: int = 0  # answered 4xx or 5xx
    broken: int = 0  # connections that failed or timed out
    p50: list[float] = field(default_factory=list)  # per round, milliseconds
    p99: list[float] = field(default_factory=list)
    stored: int = 0

    @property
    def acknowledged(self) -> int:
        return self.answered - self.refused

    @property
    def failed(self) -> int:
        return self.refused + self.broken

    @property
    def rate(self) -> float:
        return self.acknowledged / self.seconds

    @property
    def lost(self) -> int:
        """Acknowledged posts the database does not hold. Posts still in flight when a round
        ends may be stored unacknowledged, so stored can exceed acknowledged, never fall short."""
        return max(0, self.acknowledged - self.stored)


def wrk() -> str:
    """Return wrk's path, installing Debian's package when it is missing."""
    if not shutil.which("wrk"):
        sudo = [] if Path("/proc/self").stat().st_uid == 0 else ["sudo"]
        subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "wrk"], check=True,
                       capture_output=True)  # fmt: skip
    return shutil.which("wrk")


def drive(port: int, kind: str, args) -> dict:
    """Run wrk for one round against a port; return the summary visitors.lua prints."""
    command = [wrk(), "-t1", f"-c{args.connections}", f"-d{args.seconds:.0f}s", "--timeout",
               "10s", "-s", str(SCRIPT), f"http://127.0.0.1:{port}", "--", kind,
               secrets.token_hex(4)]  # fmt: skip
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


class Target:
    """A gunicorn server under test and, for the service, its database's row counts."""

    def __init__(self, label: str, app: str, database_url: str | None, args,
                 kinds: tuple[str, ...] = KINDS):  # fmt: skip
        self.label, self.database_url, self.kinds = label, database_url, kinds
        env = bench_environment(database_url)
        if database_url:
            upgrade(env)
        self.server = Gunicorn(app, env, args.workers, args.threads)
        self.loads = {kind: Load() for kind in kinds}

    def count(self, kind: str) -> int:
        if not self.database_url:
            return 0
        from sqlalchemy import create_engine, text

        engine = create_engine(self.database_url.replace("postgresql://", "postgresql+psycopg://"))
        try:
            with engine.connect() as connection:
                return connection.execute(text(STORED_COUNTS[kind])).scalar_one()
        finally:
            engine.dispose()

    def round(self, kind: str, args) -> None:
        """Drive one round of posts of a kind; add what wrk saw and what was stored."""
        before = self.count(kind)
        summary = drive(self.server.port, kind, args)
        load = self.loads[kind]
        load.seconds += summary["seconds"]
        load.answered += summary["answered"]
        load.refused += summary["refused"]
        load.broken += summary["socket_errors"]
        load.p50.append(summary["p50_ms"])
        load.p99.append(summary["p99_ms"])
        load.stored += self.count(kind) - before if self.database_url else summary["answered"]


def measure(args) -> list[Target]:
    """Return the baseline, SQLite, PostgreSQL and floor targets after the alternated
    rounds."""
    with tempfile.TemporaryDirectory() as folder:
        targets = []
        try:
            targets += [
                Target("baseline", "bench.hello:app", None, args),
                Target("SQLite", "wsgi:app", f"sqlite:///{folder}/bench.db", args),
                Target("PostgreSQL", "wsgi:app", fresh_postgres("closeloop_bench"), args),
                Target(
                    "SQLite floor",
                    "bench.floor:app",
                    f"sqlite:///{folder}/floor.db",
                    args,
                    kinds=("clicks",),
                ),
            ]
            warm_up = argparse.Namespace(**{**vars(args), "seconds": args.warm_up})
            for target in targets:  # not counted: first requests build caches and pools
                for kind in target.kinds:
                    drive(target.server.port, kind, warm_up)
            for _ in range(args.rounds):
                for kind in KINDS:
                    for target in targets:
                        if kind in target.kinds:
                            target.round(kind, args)
        finally:
            for target in targets:
                target.server.stop()
        return targets


def worst(values: list[float]) -> float:
    return max(values) if values else float("nan")


def figures(args) -> list[Figure]:
    """Return the rate and latencies per database and kind, failures and lost posts."""
    baseline, *services = measure(args)
    rows = []
    for target in services:
        for kind in target.kinds:
            load, base = target.loads[kind], baseline.loads[kind]
            label = f"{kind}, {target.label}"
            rows += [
                Figure("load", f"{kind}/s, {target.label}", load.rate, base.rate),
                Figure("load", f"{label}, p50 ms (worst round)", worst(load.p50), worst(base.p50)),
                Figure("load", f"{label}, p99 ms (worst round)", worst(load.p99), worst(base.p99)),
                Figure("load", f"{label}, refused (4xx, 5xx)", load.refused, must_be_zero=True),
                Figure("load", f"{label}, connections broken", load.broken, must_be_zero=True),
                Figure(
                    "load",
                    f"{label}, lost (acknowledged, not stored)",
                    load.lost,
                    must_be_zero=True,
                ),  # fmt: skip
            ]
    return rows


def main() -> int:
    args = parser().parse_args()
    print(
        f"wrk, {args.connections} connections, {args.rounds} rounds of {args.seconds:.0f} s per "
        f"target and kind, gunicorn {args.workers} workers x {args.threads} threads"
    )
    print(f"{'target':<14}{'kind':<8}{'posts/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'refused':>8}"
          f"{'broken':>7}{'ratio':>8}{'lost':>6}")  # fmt: skip
    targets = measure(args)
    baseline = targets[0]
    failed = False
    for target in targets:
        for kind in target.kinds:
            load = target.loads[kind]
            failed = failed or load.lost > 0 or load.failed > 0
            print(f"{target.label:<14}{kind:<8}{load.rate:>9.0f}{worst(load.p50):>9.1f}"
                  f"{worst(load.p99):>9.1f}{load.refused:>8}{load.broken:>7}"
                  f"{load.rate / baseline.loads[kind].rate:>8.2f}{load.lost:>6}")  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
