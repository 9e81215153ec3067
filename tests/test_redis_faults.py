"""Redis holds only rate-limit counters: with a private Redis stopped or paused under load,
every lead and click is still stored, each answer comes quickly, and counting goes back
to Redis by itself when it returns."""

import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest

from bench.common import Gunicorn, bench_environment, free_port, upgrade
from bench.workload import lost_posts, run_load, visitor_workload
from tests.conftest import require
from tests.test_faults import ANSWER_BOUND, CLIENTS, statuses, wait_for

REDIS = shutil.which("redis-server")


class PrivateRedis:
    """A redis-server of the test's own on a free port, keeping nothing on disk."""

    def __init__(self):
        self.port = free_port()
        self.process = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL,
        )  # fmt: skip
        assert wait_for(lambda: self.keys() is not None, 10), "redis did not start"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)

    def keys(self) -> list[str] | None:
        """Return the keys Redis holds, or None when it does not answer."""
        result = subprocess.run([shutil.which("redis-cli"), "-p", str(self.port), "--raw",
                                 "keys", "*"], capture_output=True, text=True, timeout=5,
                                check=False)  # fmt: skip
        return result.stdout.split() if result.returncode == 0 else None

    def flush(self) -> None:
        subprocess.run([shutil.which("redis-cli"), "-p", str(self.port), "flushall"],
                       capture_output=True, check=True)  # fmt: skip


@pytest.fixture
def redis():
    require(REDIS is not None, "redis-server is not installed")
    server = PrivateRedis()
    yield server
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGCONT)
        server.stop()


@pytest.mark.parametrize("fault", ["stopped", "paused"])
def test_intake_goes_on_while_redis_is_away_and_counts_in_redis_again(redis, fault):
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/redis.db"
        env = bench_environment(url,
                                CLOSELOOP_RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{redis.port}/0")  # fmt: skip
        upgrade(env)
        server = Gunicorn("wsgi:app", env, workers=2, threads=4)
        try:
            outage = threading.Thread(target=_outage, args=(redis, fault))
            outage.start()
            loads = run_load(server.port, CLIENTS, 8, visitor_workload(), timeout=ANSWER_BOUND)
            outage.join()
            assert statuses(loads) <= {201, 204}, statuses(loads)
            assert all(load.slowest < ANSWER_BOUND for load in loads.values())
            assert lost_posts(loads, url) == {"clicks": 0, "leads": 0}
            assert loads["leads"].rate > 0
            # Back to Redis by itself: its counters fill again.
            redis.flush()
            assert wait_for(lambda: _post_and_count(server.port, redis), 40)
        finally:
            server.stop()


def _outage(redis: PrivateRedis, fault: str) -> None:
    time.sleep(2)
    if fault == "stopped":
        redis.stop()
        time.sleep(4)
        redis.start()
    else:
        redis.process.send_signal(signal.SIGSTOP)
        time.sleep(4)
        redis.process.send_signal(signal.SIGCONT)


def _post_and_count(port: int, redis: PrivateRedis) -> bool:
    loads = run_load(port, 2, 0.5, visitor_workload(), timeout=ANSWER_BOUND)
    assert statuses(loads) <= {201, 204}
    return bool(redis.keys())


def test_without_redis_each_process_still_counts_and_says_so_once(tmp_path, caplog):
    from tests.conftest import make_app

    nowhere = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    app = make_app(f"sqlite:///{tmp_path}/r.db", tmp_path, RATELIMIT_STORAGE_URI=nowhere,
                   LEAD_RATE_LIMIT="3 per minute")  # fmt: skip
    client = app.test_client()
    answers = [client.post("/leads", json={"email": f"l{n}@example.com"}).status_code
               for n in range(4)]  # fmt: skip
    assert answers == [201, 201, 201, 429]
    switches = [r for r in caplog.records if "falling back to in-memory" in r.getMessage()]
    assert len(switches) == 1
