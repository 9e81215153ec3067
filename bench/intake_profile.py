"""Where an intake request's time goes: cProfile of posts through the app in one process.

Posts new visitors' clicks and leads (as bench/load.py's wrk script does) through Flask's
test client, first to the hello-world baseline and then to the service, and prints the
process CPU time per post of each, then the service's profiled time by part of the stack
(self time, so the parts add up). Profiling slows everything about 3 times: compare the
parts with each other, not with bench/load.py's figures.

Run: .venv/bin/python bench/intake_profile.py [--posts 2000] [--database sqlite|postgresql]
"""

import argparse
import cProfile
import os
import pstats
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, bench_environment, fresh_postgres, upgrade  # noqa: E402
from bench.workload import visitor_workload  # noqa: E402

# Parts of the stack, by the first pattern a function's file matches.
PARTS = [
    ("database driver", r"psycopg|<method '(execute|executemany|commit|rollback)' of 'sqlite3"),
    ("SQLAlchemy", r"sqlalchemy"),
    ("rate limits", r"flask_limiter|/limits/"),
    ("validation", r"marshmallow|phonenumbers|/leads/schemas|/capture/schemas"),
    ("Flask, Werkzeug, extensions", r"/flask|/werkzeug/"),
    ("Closeloop", re.escape(str(ROOT)) + r"/(?!\.venv)"),
    ("Python and its library", r""),
]


def posts_of(kind: str):
    """Return a function that sends the n-th post of a kind, as a new visitor each time."""
    next_post, second = visitor_workload(), kind == "leads"  # a visit's click, then its lead

    def send(client, number: int) -> int:
        post = next_post(0, 2 * number + second)
        return client.post(post.path, json=post.body).status_code

    return send


def cpu_per_post(app, kind: str, posts: int) -> float:
    """Return the process CPU microseconds per post, the best of three runs."""
    client, best = app.test_client(), float("inf")
    for _ in range(3):
        send, started = posts_of(kind), time.process_time()
        for number in range(posts):
            assert send(client, number) in (201, 204)
        best = min(best, (time.process_time() - started) / posts * 1e6)
    return best


def parts(app, kind: str, posts: int) -> Counter:
    """Return the profiled self time per post of each part of the stack, in microseconds."""
    client, send, profile = app.test_client(), posts_of(kind), cProfile.Profile()
    profile.enable()
    for number in range(posts):
        send(client, number)
    profile.disable()
    times = Counter()
    for (path, _, name), (_, _, self_time, _, _) in pstats.Stats(profile).stats.items():
        where = path if path != "~" else name
        part = next(label for label, pattern in PARTS if re.search(pattern, where))
        times[part] += self_time / posts * 1e6
    return times


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--posts", type=int, default=2000)
    options.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = options.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = (f"sqlite:///{folder}/profile.db" if args.database == "sqlite"
               else fresh_postgres("closeloop_profile"))  # fmt: skip
        env = bench_environment(url)
        upgrade(env)
        os.environ.update(env)
        from bench.hello import app as hello
        from wsgi import app

        for kind in ("clicks", "leads"):
            baseline, service = (
                cpu_per_post(hello, kind, args.posts),
                cpu_per_post(app, kind, args.posts),
            )
            print(
                f"{kind} on {args.database}: {service:.0f} µs CPU per post, the baseline "
                f"{baseline:.0f} µs ({service / baseline:.1f} times)"
            )
            times = parts(app, kind, args.posts)
            total = sum(times.values())
            for part, spent in times.most_common():
                print(f"  {part:<30}{spent:>8.0f} µs profiled {spent / total:>6.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
