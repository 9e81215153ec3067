"""The in-memory rate-limit counters: counting starts no threads, and expired counters go."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import extensions
from extensions import MemoryCounters, limiter


def test_the_service_counts_in_memory_without_starting_threads(app, monkeypatch):
    storage = limiter.limiter.storage
    assert isinstance(storage, MemoryCounters)  # what the default `memory://` makes
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
    assert started == []
    assert storage.get("visitor-3-7") == 1


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
