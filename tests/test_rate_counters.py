"""The in-memory rate-limit counters: counting starts no threads, and expired counters go."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import extensions
from bench.common import free_port
from extensions import MemoryCounters, limiter
from tests.conftest import make_app


def timers_started_by_counting(storage, monkeypatch) -> list:
    """Count from 8 threads; return the timer threads the storage started meanwhile."""
    started = []
    real_timer = threading.Timer

    def timer(*args, **kwargs):
        started.append(args)
        return real_timer(*args, **kwargs)

    monkeypatch.setattr(threading, "Timer", timer)

    def count(worker: int) -> None:
        # Counts spread over more than the 10 ms after which limits' own storage starts a
        # new timer thread: two at the same moment could start one twice (a 500).
        for number in range(20):
            storage.incr(f"visitor-{worker}-{number}", 60)
            time.sleep(0.002)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(count, range(8)))
    assert storage.get("visitor-3-7") == 1
    return started


def test_the_service_counts_in_memory_without_starting_threads(app, monkeypatch):
    storage = limiter.limiter.storage
    assert isinstance(storage, MemoryCounters)  # what the default `memory://` makes
    assert timers_started_by_counting(storage, monkeypatch) == []


def test_while_redis_is_away_each_process_counts_without_starting_threads(tmp_path,
                                                                          monkeypatch):  # fmt: skip
    # The limiter is one object for every app of the test session: whatever this test's
    # post marks on it (Redis away), the next app must not inherit.
    monkeypatch.setattr(limiter, "_storage_dead", limiter._storage_dead)
    nowhere = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    app = make_app(f"sqlite:///{tmp_path}/r.db", tmp_path, RATELIMIT_STORAGE_URI=nowhere)
    assert app.test_client().post("/leads", json={"email": "a@example.com"}).status_code == 201
    fallback = limiter.limiter.storage  # the counters of this process, until Redis is back
    assert timers_started_by_counting(fallback, monkeypatch) == []


def test_expired_counters_are_dropped_by_a_later_count(monkeypatch):
    monkeypatch.setattr(extensions, "SWEEP_EVERY", 0.0)
    storage = MemoryCounters()
    for number in range(100):
        storage.incr(f"gone-{number}", 0.01)
        storage.acquire_entry(f"window-{number}", 5, 0.01)  # moving-window entries too
    storage.acquire_entry("window-0", 5, 60)  # a key with an expired and a live entry
    time.sleep(0.02)
    storage.incr("new", 60)
    assert set(storage.storage) == {"new"}
    assert set(storage.expirations) == {"new"}
    assert set(storage.events) == {"window-0"}
    assert len(storage.events["window-0"]) == 1
