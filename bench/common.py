"""Helpers shared by the benchmarks: servers under gunicorn, load from threads, figures."""

import http.client
import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
POSTGRES_ADMIN_URL = os.environ.get(
    "CLOSELOOP_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_environment(database_url: str | None, **settings: str) -> dict:
    """Return a production environment for the service, with limits out of the way."""
    env = dict(os.environ)
    env.update(
        CLOSELOOP_ENVIRONMENT="production",
        CLOSELOOP_SECRET_KEY=secrets.token_urlsafe(48),
        CLOSELOOP_LEAD_RATE_LIMIT="10000000 per minute",
        CLOSELOOP_LEAD_QUARANTINE_LIMIT="10000000 per minute",
        CLOSELOOP_CLICK_RATE_LIMIT="10000000 per minute",
        GUNICORN_ACCESSLOG="",
        **settings,
    )
    if database_url:
        env["CLOSELOOP_DATABASE_URL"] = database_url
    return env


def fresh_postgres(name: str) -> str:
    """Create (or empty) a PostgreSQL database of its own for a benchmark; return its URL."""
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN_URL + "/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    return f"{POSTGRES_ADMIN_URL}/{name}"


def upgrade(env: dict) -> None:
    """Create the schema with the migrations, as an operator would."""
    subprocess.run([BIN / "flask", "--app", "app", "db", "upgrade"], cwd=ROOT, env=env,
                   check=True, capture_output=True)  # fmt: skip


class Gunicorn:
    """A gunicorn server on a free loopback port, with the project's gunicorn.conf.py."""

    def __init__(self, target: str, env: dict, workers: int, threads: int):
        self.port = free_port()
        command = [
            BIN / "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(workers), "--threads", str(threads), "--log-level", "warning",
            target,
        ]  # fmt: skip
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
        self.wait_until_up()

    def wait_until_up(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not come up on port {self.port}")

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)


@dataclass
class Load:
    """What a load run saw: latencies of acknowledged posts, statuses, acknowledged ids."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    acknowledged: set[str] = field(default_factory=set)

    def record(self, status: int, latency: float, lead_id: str | None) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if status == 201 and lead_id:
            self.latencies.append(latency)
            self.acknowledged.add(lead_id)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        """Return the q-th percentile latency in milliseconds."""
        if len(self.latencies) < 2:
            return float("nan")
        return statistics.quantiles(self.latencies, n=100)[int(q) - 1] * 1000

    @property
    def errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status != 201)


def post_leads(port: int, clients: int, seconds: float, make_body) -> Load:
    """Post leads from client threads over keep-alive connections for a fixed time."""
    load = Load()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(number: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        sent = 0
        while time.monotonic() < deadline:
            body = json.dumps(make_body(number, sent))
            started = time.perf_counter()
            try:
                connection.request("POST", "/leads", body, {"Content-Type": "application/json"})
                response = connection.getresponse()
                payload = response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                status, payload = 599, b""
            elapsed = time.perf_counter() - started
            lead_id = json.loads(payload).get("id") if status == 201 else None
            with lock:
                load.record(status, elapsed, lead_id)
            sent += 1
        connection.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    load.seconds = time.monotonic() - started
    return load
