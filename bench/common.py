"""Helpers shared by the benchmarks: environments, databases, gunicorn servers, figures."""

import http.client
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
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
    """A gunicorn server on a free loopback port, with the project's gunicorn.conf.py but
    for two settings, the same for every server a benchmark compares:

    * worker recycling off: a leak guard, which at a hello-world app's rate restarts
      workers within the rounds and measures the restarts, not the app (recycling every
      10,000 requests, the baseline did 4,300 clicks/s; without, 7,300 to 7,900);
    * a listening socket per worker (SO_REUSEPORT), so that the kernel spreads the load
      generator's kept-alive connections over the workers. With one shared socket the
      first worker to wake often accepts all 16 and the round runs on one core (the
      baseline then did 2,434 to 2,577 clicks/s, against 6,573 to 6,844 when spread).
      Production keeps the shared socket: nginx opens a connection per request, which
      spreads by itself, and Linux resets the connections still queued on a per-worker
      socket when a reload stops its worker (unless net.ipv4.tcp_migrate_req is set).
    """

    def __init__(self, target: str, env: dict, workers: int, threads: int):
        self.port = free_port()
        command = [
            BIN / "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(workers), "--threads", str(threads), "--log-level", "warning",
            "--max-requests", "0", "--reuse-port", target,
        ]  # fmt: skip
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
        if not self.wait_until_healthy():
            self.stop()
            raise RuntimeError(f"gunicorn did not come up on port {self.port}")

    def health(self, timeout: float = 5) -> int:
        """Return the status of GET /healthz, or 599 when no answer came in time."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request("GET", "/healthz")
            return connection.getresponse().status
        except (OSError, http.client.HTTPException):
            return 599
        finally:
            connection.close()

    def wait_until_healthy(self, timeout: float = 30) -> bool:
        """Wait until /healthz answers 200; tell whether it did in time."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.health() == 200:
                return True
            time.sleep(0.1)
        return False

    def worker_pids(self) -> set[int]:
        """Return the process ids of the arbiter's workers (Linux /proc)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return {int(pid) for pid in children.read_text().split()}

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)


@dataclass
class Figure:
    """One row of `make bench`'s table: a figure, and the baseline it is compared with."""

    benchmark: str
    figure: str
    value: float
    baseline: float | None = None
    must_be_zero: bool = False  # lost posts and errors: any other value fails `make bench`

    @property
    def ratio(self) -> float | None:
        return self.value / self.baseline if self.baseline else None
