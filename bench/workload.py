"""Load from client threads: the visitor workload, and what each kind of post saw."""

import http.client
import json
import secrets
import statistics
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

JSON_HEADERS = {"Content-Type": "application/json"}
LANDING_URL = "https://www.example.com/landing?utm_source=bing"
# What each kind of post leaves in the database when it is acknowledged.
STORED_QUERIES = {
    "leads": "SELECT public_id FROM leads",
    "clicks": "SELECT click_id FROM clicks WHERE param = 'msclkid'",
    "conversions": "SELECT CAST(id AS VARCHAR(20)) FROM conversions",
}


class Post(NamedTuple):
    """One request of a workload: its kind, path and JSON body.

    A 201 acknowledges the id its answer names; a 204 acknowledges `sent_id`, the id the
    post itself carried (a click registration answers with no body).
    """

    kind: str
    path: str
    body: dict
    sent_id: str | None = None
    method: str = "POST"
    headers: dict | None = None


@dataclass
class Load:
    """What a load run saw of one kind of post: latencies, statuses, acknowledged ids."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    acknowledged: set[str] = field(default_factory=set)
    # The longest any post waited for its answer, acknowledged or not: bounded under faults.
    slowest: float = 0.0

    def record(self, status: int, latency: float, acknowledged_id: str | None) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.slowest = max(self.slowest, latency)
        if acknowledged_id:
            self.latencies.append(latency)
            self.acknowledged.add(acknowledged_id)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        """Return the q-th percentile latency of acknowledged posts in milliseconds."""
        if len(self.latencies) < 2:
            return float("nan")
        return statistics.quantiles(self.latencies, n=100)[int(q) - 1] * 1000

    @property
    def errors(self) -> int:
        return sum(self.statuses.values()) - len(self.latencies)


def send(connection: http.client.HTTPConnection, post: Post) -> tuple[int, str | None]:
    """Send one post; return its status (599: no answer) and the id it acknowledged."""
    try:
        headers = {**JSON_HEADERS, **(post.headers or {})}
        connection.request(post.method, post.path, json.dumps(post.body), headers)
        response = connection.getresponse()
        payload = response.read()
    except (OSError, http.client.HTTPException):
        return 599, None
    if response.status == 201:
        return 201, str(json.loads(payload).get("id"))
    return response.status, post.sent_id if response.status == 204 else None


def run_load(port: int, clients: int, seconds: float, next_post, timeout: float = 30) -> dict:
    """Send a workload from client threads over keep-alive connections for a fixed time.

    `next_post(client, number)` returns each client's next Post; the answer is a Load per
    kind of post. A post waits at most `timeout` seconds for its answer.
    """
    loads: dict[str, Load] = defaultdict(Load)
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(number: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        sent = 0
        while time.monotonic() < deadline:
            post = next_post(number, sent)
            started = time.perf_counter()
            status, acknowledged_id = send(connection, post)
            elapsed = time.perf_counter() - started
            if status == 599:  # The connection is broken or out of step: start a new one.
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
            with lock:
                loads[post.kind].record(status, elapsed, acknowledged_id)
            sent += 1
        connection.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for load in loads.values():
        load.seconds = time.monotonic() - started
    return dict(loads)


def visitor_workload():
    """Return a workload of new visitors, with click IDs and leads no other workload sends.

    Each client registers a new click, then posts a lead carrying that click's IDs.
    """
    run = secrets.token_hex(4)

    def next_post(client: int, number: int) -> Post:
        visit = number // 2
        msclkid = f"{run}{client:08x}{visit:016x}"
        click_ids = {"msclkid": msclkid, "gclid": f"Cj0KCQ-{run}-{client}-{visit}"}
        if number % 2 == 0:
            body = {**click_ids, "landing_url": LANDING_URL}
            return Post("clicks", "/capture/clicks", body, sent_id=msclkid)
        return Post("leads", "/leads", {
            **click_ids,
            "name": f"Bench Visitor {client}-{visit}",
            "email": f"visitor{client}.{visit}@example.com",
            "phone": "+1 425 555 0100",
            "utm_source": "bing",
            "landing_url": LANDING_URL,
            "submission_id": f"{run}-{client}-{visit}",
        })  # fmt: skip

    return next_post


def stored_values(database_url: str, query: str) -> set[str]:
    """Return the first column of a query's rows, read with a connection of its own."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as connection:
            return {row[0] for row in connection.execute(text(query))}
    finally:
        engine.dispose()


def lost_posts(loads: dict, database_url: str) -> dict[str, int]:
    """Count, per kind, the acknowledged posts that are not in the database: must be 0."""
    stored = {kind: stored_values(database_url, STORED_QUERIES[kind]) for kind in loads}
    return {kind: len(load.acknowledged - stored[kind]) for kind, load in loads.items()}
