"""Give up on a PostgreSQL server that does not answer: a web request's database call that
runs past its deadline has its socket shut, so the request fails at once (503) instead of
waiting for as long as the server is frozen.

The server enforces statement_timeout and lock_timeout on slow statements; this covers
the server that cannot enforce anything (paused, or a network gone silent), which the
kernel and keepalives do not notice. Only the web process uses it (wsgi.py sets
CLOSELOOP_DATABASE_TIMEOUT); `flask export run` keeps the long statements it needs.
"""

import os
import socket
import threading
import time

from sqlalchemy import event

TICK = 0.1  # seconds between the watchdog's looks
PING = 1.0  # a healthy server answers the pool's ping in milliseconds


class Watchdog:
    """Shut the socket of any call still running past its deadline."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.armed: dict[int, tuple[float, int]] = {}  # id(connection): (deadline, socket)
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def arm(self, dbapi_connection, seconds: float | None = None) -> None:
        deadline = time.monotonic() + (seconds or self.seconds)
        with self.lock:
            self.armed[id(dbapi_connection)] = (deadline, dbapi_connection.pgconn.socket)
            if self.thread is None or not self.thread.is_alive():  # a new worker after fork
                self.thread = threading.Thread(target=self.watch, daemon=True,
                                               name="database-deadlines")  # fmt: skip
                self.thread.start()

    def disarm(self, dbapi_connection) -> None:
        with self.lock:
            self.armed.pop(id(dbapi_connection), None)

    def watch(self) -> None:
        while True:
            time.sleep(TICK)
            now = time.monotonic()
            with self.lock:
                late = [key for key, (deadline, _) in self.armed.items() if deadline < now]
                sockets = [self.armed.pop(key)[1] for key in late]
            for fd in sockets:
                _shut(fd)

    def watched(self, call, seconds: float | None = None):
        """Return `call(dbapi_connection, ...)` run under a deadline."""

        def run(dbapi_connection, *args, **kwargs):
            self.arm(dbapi_connection, seconds)
            try:
                return call(dbapi_connection, *args, **kwargs)
            finally:
                self.disarm(dbapi_connection)

        return run


def _shut(fd: int) -> None:
    """Shut a socket both ways: the call blocked on it returns with an error."""
    try:
        copy = socket.socket(fileno=os.dup(fd))
    except OSError:
        return  # closed meanwhile
    try:
        copy.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        copy.close()


def watch_engine(engine, seconds: float) -> Watchdog:
    """Put every statement, ping, commit and rollback of a PostgreSQL engine under a
    deadline of `seconds`."""
    dog = Watchdog(seconds)

    @event.listens_for(engine, "before_cursor_execute")
    def arm(conn, cursor, statement, parameters, context, executemany):
        dog.arm(conn.connection.dbapi_connection)

    @event.listens_for(engine, "after_cursor_execute")
    def disarm(conn, cursor, statement, parameters, context, executemany):
        dog.disarm(conn.connection.dbapi_connection)

    @event.listens_for(engine, "handle_error")
    def failed(context):
        if context.connection is not None and context.connection.connection is not None:
            dbapi = context.connection.connection.dbapi_connection
            if dbapi is not None:
                dog.disarm(dbapi)

    dialect = engine.dialect
    # A failed ping costs a reconnection (connect_timeout) on top: keep the ping short.
    dialect.do_ping = dog.watched(dialect.do_ping, min(PING, seconds))
    for name in ("do_commit", "do_rollback"):
        setattr(dialect, name, dog.watched(getattr(dialect, name)))
    return dog
