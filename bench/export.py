"""`flask export run` at 100,000 and 1,000,000 conversions over 10 goals, on SQLite.

For each size, seeds a fresh database (leads with an MSCLKID, each converted once, goals
set up for Microsoft), then runs in child processes, one after the other:
  * the baseline: one plain sqlite3 query and csv.writer writing the same rows to one
    file per goal (no rules, no ledger), in one process;
  * `flask export run`, as cron runs it: goals side by side, one worker per core;
  * `flask export run --jobs 1` on a copy of the same database: the goals one after the
    other, in one process, as the baseline.
Prints wall time, rows/s, the ratio export ÷ baseline, and each child's peak memory (max
RSS of a process, the largest worker's for the run): memory must stay flat from 100,000
to 1,000,000 because the run streams.

Run: .venv/bin/python bench/export.py [--sizes 100000,1000000]
"""

import argparse
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BIN, ROOT, Figure, bench_environment, upgrade  # noqa: E402

GOALS = 10
BATCH = 50_000

BASELINE = r"""
import csv, sqlite3, sys
connection = sqlite3.connect(sys.argv[1])
query = '''SELECT g.id, k.value, g.microsoft_goal_name, c.converted_at, c.value, c.currency
           FROM conversions c JOIN goals g ON g.id = c.goal_id
           JOIN lead_click_ids k ON k.lead_id = c.lead_id AND k.param = 'msclkid'
           ORDER BY g.id, c.id'''
files, rows = {}, 0
for goal, *row in connection.execute(query):
    if goal not in files:
        stream = open(f"{sys.argv[2]}/goal-{goal}.csv", "w", newline="")
        stream.write("Parameters:TimeZone=+0000\r\n")
        files[goal] = (stream, csv.writer(stream, lineterminator="\r\n"))
        files[goal][1].writerow(["Microsoft Click ID", "Conversion Name", "Conversion Time",
                                 "Conversion Value", "Conversion Currency"])
    files[goal][1].writerow(row)
    rows += 1
for stream, _ in files.values():
    stream.close()
print(rows)
"""


def seed(path: str, count: int) -> None:
    """Insert goals, then `count` leads with an MSCLKID, each converted once."""
    now = datetime.now(UTC).replace(tzinfo=None)
    old = now - timedelta(days=30)
    connection = sqlite3.connect(path)
    with connection:
        connection.executemany(
            "INSERT INTO goals (id, name, microsoft_goal_name, microsoft_hashed, google_enhanced,"
            " window_days, created_at) VALUES (?, ?, ?, 0, 0, 90, ?)",
            [(g, f"Goal {g}", f"Offline goal {g}", old) for g in range(1, GOALS + 1)],
        )
        for first in range(1, count + 1, BATCH):
            ids = range(first, min(first + BATCH, count + 1))
            created = [old + timedelta(seconds=n) for n in ids]
            connection.executemany(
                "INSERT INTO leads (id, public_id, created_at, status, attribution, extra,"
                " fingerprint) VALUES (?, ?, ?, 'new', '{}', '{}', 'f')",
                [(n, f"p{n}", created[i]) for i, n in enumerate(ids)],
            )
            connection.executemany(
                "INSERT INTO lead_click_ids (lead_id, param, platform, value, valid)"
                " VALUES (?, 'msclkid', 'microsoft', ?, 1)",
                [(n, f"{n:032x}") for n in ids],
            )
            connection.executemany(
                "INSERT INTO conversions (lead_id, goal_id, converted_at, value, currency,"
                " created_at) VALUES (?, ?, ?, ?, 'USD', ?)",
                # Recorded by staff an hour after the sale, as over the months before a run.
                [(n, n % GOALS + 1, created[i] + timedelta(days=2), f"{n % 5000}.5",
                  created[i] + timedelta(days=2, hours=1)) for i, n in enumerate(ids)],
            )  # fmt: skip
    connection.execute("ANALYZE")
    connection.close()


# Linux credits a child with the memory of the process that started it, so a small process
# starts each child and prints the child's own peak RSS (KiB) as the last line of output.
PEAK_RSS = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:])
_, status, usage = os.wait4(child.pid, 0)
print(usage.ru_maxrss, flush=True)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def timed_child(command: list, env: dict) -> tuple[float, float, str]:
    """Run a child; return its wall seconds, peak RSS in MiB, and its output."""
    started = time.perf_counter()
    process = subprocess.run([sys.executable, "-c", PEAK_RSS, *command], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)  # fmt: skip
    elapsed = time.perf_counter() - started
    output, _, peak_kib = process.stdout.rstrip("\n").rpartition("\n")
    if process.returncode != 0:
        raise SystemExit(f"{command[0]} failed:\n{process.stdout}")
    return elapsed, int(peak_kib) / 1024, output


def measure(count: int) -> dict:
    """Time the baseline and the export of `count` conversions, in a folder removed after."""
    with tempfile.TemporaryDirectory(prefix="closeloop-export-bench-") as folder:
        return measure_in(Path(folder), count)


def measure_in(folder: Path, count: int) -> dict:
    database = folder / "bench.db"
    env = bench_environment(f"sqlite:///{database}", CLOSELOOP_EXPORT_DIR=str(folder / "out"))
    upgrade(env)
    started = time.perf_counter()
    seed(str(database), count)
    seeded = time.perf_counter() - started
    copy = folder / "one-process.db"
    shutil.copyfile(database, copy)
    (folder / "baseline").mkdir()
    base_s, base_mb, base_out = timed_child(
        [sys.executable, "-c", BASELINE, str(database), str(folder / "baseline")], env
    )
    assert int(base_out.strip()) == count, base_out
    run = [BIN / "flask", "--app", "app", "export", "run"]
    run_s, run_mb, _ = timed_child(run, env)
    assert written(folder / "out") == count
    again_s, _, _ = timed_child(run, env)
    one_env = {**env, "CLOSELOOP_DATABASE_URL": f"sqlite:///{copy}",
               "CLOSELOOP_EXPORT_DIR": str(folder / "one")}  # fmt: skip
    one_s, _, _ = timed_child([*run, "--jobs", "1"], one_env)
    assert written(folder / "one") == count
    return {"count": count, "seeded": seeded, "base_s": base_s, "base_mb": base_mb,
            "run_s": run_s, "run_mb": run_mb, "again_s": again_s, "one_s": one_s}  # fmt: skip


def written(out: Path) -> int:
    """Count the rows of the upload files under a folder (each has two lines before them)."""
    files = list(out.rglob("*.csv"))
    return sum(1 for path in files for _ in path.open()) - 2 * len(files)


def parser() -> argparse.ArgumentParser:
    """Return the command line: the numbers of conversions to export."""
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--sizes", default="100000,1000000")
    return options


def each_size(args):
    """Yield the figures of each size, as each is measured."""
    for count in (int(size) for size in args.sizes.split(",")):
        yield measure(count)


def figures(args) -> list[Figure]:
    """Return rows/s, peak memory and the re-run's time per size, against the baseline's."""
    rows = []
    for r in each_size(args):
        size, baseline = f"{r['count']:,} conversions", r["count"] / r["base_s"]
        rows += [
            Figure("export", f"rows/s, {size}", r["count"] / r["run_s"], baseline),
            Figure("export", f"rows/s, 1 process, {size}", r["count"] / r["one_s"], baseline),
            Figure("export", f"peak MiB, {size}", r["run_mb"], r["base_mb"]),
            Figure("export", f"re-run s (nothing new), {size}", r["again_s"]),
        ]
    return rows


def main() -> None:
    args = parser().parse_args()
    print(f"{'conversions':>12}{'baseline s':>12}{'rows/s':>10}{'export s':>10}{'rows/s':>10}"
          f"{'ratio':>7}{'1 process s':>13}{'ratio':>7}{'base MiB':>10}{'export MiB':>12}"
          f"{'re-run s':>10}")  # fmt: skip
    for r in each_size(args):
        count = r["count"]
        print(f"{count:>12,}{r['base_s']:>12.1f}{count / r['base_s']:>10,.0f}{r['run_s']:>10.1f}"
              f"{count / r['run_s']:>10,.0f}{r['base_s'] / r['run_s']:>7.3f}{r['one_s']:>13.1f}"
              f"{r['base_s'] / r['one_s']:>7.3f}{r['base_mb']:>10.0f}{r['run_mb']:>12.0f}"
              f"{r['again_s']:>10.1f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
