"""Faults under load: a killed worker, a restarted PostgreSQL; nothing acknowledged is lost.

Each test serves the app with gunicorn (bench.common.Gunicorn, as the benchmarks do) and
sends the benchmark's visitor workload: a click registration, then a lead carrying it.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from app import create_app
from bench.common import Gunicorn, bench_environment, free_port
from bench.workload import lost_posts, run_load, visitor_workload
from database import db
from tests.conftest import make_app, require

CLIENTS = 8
# Every answer, even a refusal during an outage, must come within this many seconds.
ANSWER_BOUND = 5
RESTARTS = 3
# initdb and pg_ctl: on PATH, or where Debian keeps them.
PG_CTL = shutil.which("pg_ctl") or max(map(str, Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")),
                                       default=None)  # fmt: skip


def wait_for(condition, timeout: float = 15) -> bool:
    """Poll a condition until it holds; tell whether it did in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def statuses(loads: dict) -> set[int]:
    return {status for load in loads.values() for status in load.statuses}


def partial_leads(database_url: str) -> int:
    """Count leads without both their click-ID rows (the workload sends two), and orphans."""
    engine = create_engine(database_url)
    with engine.connect() as connection:
        count = connection.execute(text(
            "SELECT (SELECT count(*) FROM leads l WHERE (SELECT count(*) FROM lead_click_ids c"
            " WHERE c.lead_id = l.id) <> 2) + (SELECT count(*) FROM lead_click_ids c"
            " WHERE NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = c.lead_id))"
        )).scalar_one()  # fmt: skip
    engine.dispose()
    return count


def serve(database_url: str) -> Gunicorn:
    return Gunicorn("wsgi:app", bench_environment(database_url), workers=2, threads=4)


def test_killed_workers_lose_nothing_and_are_replaced(database_url, tmp_path):
    app = make_app(database_url, tmp_path)
    with app.app_context():
        db.engine.dispose()
    server = serve(database_url)
    try:
        originals = server.worker_pids()
        with ThreadPoolExecutor(1) as pool:
            running = pool.submit(run_load, server.port, CLIENTS, 6, visitor_workload(), 10)
            for pid in originals:  # One at a time, so the service is never without workers.
                time.sleep(1.5)
                os.kill(pid, signal.SIGKILL)
                assert wait_for(lambda p=pid: len(server.worker_pids() - {p}) == 2)
            loads = running.result()
        assert not server.worker_pids() & originals
        after = run_load(server.port, CLIENTS, 2, visitor_workload(), 10)
    finally:
        server.stop()
    # A post cut off by the kill gets no answer (599); no post gets a false success.
    assert statuses(loads) <= {201, 204, 599}
    assert lost_posts(loads, database_url) == {"clicks": 0, "leads": 0}
    # The arbiter's new workers serve every post, without anyone restarting anything.
    assert statuses(after) == {201, 204}
    assert lost_posts(after, database_url) == {"clicks": 0, "leads": 0}


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own, in a temporary folder, to stop and start."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="closeloop-faults-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        if os.geteuid() == 0:  # initdb refuses to run as root.
            shutil.chown(self.folder, "postgres", "postgres")
        self.run("initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "--no-sync")

    def run(self, program: str, *args) -> None:
        command = [Path(PG_CTL).resolve().parent / program, *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run("pg_ctl", "-D", self.data, "-l", self.folder / "log", "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self.run("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # Already stopped.
            self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def private_postgres():
    require(PG_CTL is not None, "PostgreSQL's initdb and pg_ctl are not installed")
    cluster = PrivatePostgres()
    try:
        cluster.start()
        app = create_app({"DATABASE_URL": cluster.url, "TESTING": True})
        with app.app_context():
            db.create_all()
            db.engine.dispose()
        yield cluster
    finally:
        cluster.remove()


def test_postgres_restarts_answer_503_fast_and_recover(private_postgres):
    server = serve(private_postgres.url)
    try:
        workers = server.worker_pids()
        outage_health = []
        with ThreadPoolExecutor(1) as pool:
            running = pool.submit(run_load, server.port, CLIENTS, 9, visitor_workload(), 10)
            for _ in range(RESTARTS):  # Each restart cuts requests off at a different step.
                time.sleep(1)
                private_postgres.stop()
                outage_health.append(server.health(timeout=ANSWER_BOUND))
                time.sleep(0.5)
                private_postgres.start()
                assert server.wait_until_healthy(timeout=10), "/healthz never said 200 again"
            loads = running.result()
        after = run_load(server.port, CLIENTS, 2, visitor_workload(), 10)
        same_workers = server.worker_pids() == workers
    finally:
        server.stop()
    assert outage_health == [503] * RESTARTS
    # Refused while the database was away, quickly, and never answered with a false success.
    assert statuses(loads) <= {201, 204, 503} and 503 in statuses(loads)
    assert max(load.slowest for load in loads.values()) < ANSWER_BOUND
    assert lost_posts(loads, private_postgres.url) == {"clicks": 0, "leads": 0}
    assert partial_leads(private_postgres.url) == 0
    # The same gunicorn and the same workers store every post again once PostgreSQL is back.
    assert statuses(after) == {201, 204}
    assert same_workers


def test_postgres_restart_while_idle_costs_no_post(private_postgres):
    server = serve(private_postgres.url)
    try:
        run_load(server.port, CLIENTS, 1, visitor_workload(), 10)  # Fill each worker's pool.
        private_postgres.stop()
        private_postgres.start()
        # Pooled connections died with the server; each is tested and replaced before use.
        after = run_load(server.port, CLIENTS, 1, visitor_workload(), 10)
    finally:
        server.stop()
    assert statuses(after) == {201, 204}


def test_unanswering_postgres_costs_seconds_not_a_hung_worker():
    # A server that takes connections and never answers: the pool has nothing to reuse.
    with socket.create_server(("127.0.0.1", 0)) as silent:
        url = f"postgresql://postgres@127.0.0.1:{silent.getsockname()[1]}/closeloop"
        client = create_app({"DATABASE_URL": url, "TESTING": True}).test_client()
        answers = []
        post = threading.Thread(daemon=True, target=lambda: answers.append(
            client.post("/leads", json={"email": "a@example.com"}).status_code))  # fmt: skip
        post.start()
        post.join(ANSWER_BOUND)
    assert answers == [503]


def _cluster_processes(cluster: PrivatePostgres) -> list[int]:
    """Return the postmaster's pid and its children's."""
    postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
    children = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True,
                              text=True, check=False).stdout.split()  # fmt: skip
    return [postmaster, *map(int, children)]


def test_a_frozen_postgres_costs_seconds_then_503_and_recovers(private_postgres):
    """Every PostgreSQL process paused (SIGSTOP): the server enforces nothing, yet requests
    and /healthz give up within the web's 3-second budget, and work again on SIGCONT."""
    server = serve(private_postgres.url)
    frozen = []
    try:
        warm = run_load(server.port, CLIENTS, 1, visitor_workload(), 10)  # pools filled
        frozen = _cluster_processes(private_postgres)
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)
        started = time.monotonic()
        with ThreadPoolExecutor(1) as pool:
            health = pool.submit(server.health, 15)
            loads = run_load(server.port, CLIENTS, 8, visitor_workload(), 15)
            health_status = health.result()
        assert time.monotonic() - started < 15
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
        frozen = []
        assert server.wait_until_healthy(timeout=15), "/healthz never said 200 again"
        after = run_load(server.port, CLIENTS, 2, visitor_workload(), 10)
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
        server.stop()
    assert health_status == 503
    assert statuses(loads) <= {201, 204, 503} and 503 in statuses(loads)
    # A post may first wait for a worker thread that is itself spending its budget.
    assert max(load.slowest for load in loads.values()) < 2 * 3 + 1
    for load in (warm, loads, after):
        assert lost_posts(load, private_postgres.url) == {"clicks": 0, "leads": 0}
    assert statuses(after) == {201, 204}
