"""The database handle, shared column types and connection settings."""

import fcntl
import itertools
import logging
import os
import sqlite3
import threading
from contextlib import contextmanager
from datetime import UTC, datetime

from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import DateTime, Engine, MetaData, event, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

# Named constraints let Alembic alter them later, on SQLite too.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Session(FlaskSession):
    """A session whose closing survives a connection the database server dropped."""

    def close(self) -> None:
        """Close the session; discard a dropped connection instead of rolling it back.

        A restarting PostgreSQL ends connections between statements: the rollback that
        closing sends would fail and turn the request's answer, made, into a 500.
        """
        try:
            super().close()
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
            self.invalidate()


db = SQLAlchemy(model_class=Base, session_options={"class_": Session})


# The largest key an INTEGER primary key holds on both databases (PostgreSQL's 32 bits).
MAX_ID = 2**31 - 1


def row_id(text: str) -> int:
    """Read a key from a form or query string; ValueError when no row can have it."""
    value = int(text)
    if not 1 <= value <= MAX_ID:
        raise ValueError(f"{text} is not a key")
    return value


# INSERT ... ON CONFLICT, which both databases have under the same name.
UPSERT_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def upsert_insert(dialect_name: str, table):
    """Return the dialect's INSERT that supports ON CONFLICT clauses."""
    return UPSERT_INSERTS[dialect_name](table)


class UTCDateTime(TypeDecorator):
    """Store naive UTC and give back aware UTC, the same on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime; pass an aware UTC time")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


@event.listens_for(Engine, "connect")
def configure_sqlite(dbapi_connection, connection_record) -> None:
    """Let SQLite readers and writers overlap, wait rather than fail on a lock, and
    overwrite deleted content (an erased lead's data must not linger in free pages)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()


# SQLite has one write lock per database, and a writer that finds it taken sleeps in SQLite's
# busy handler (1 ms, 2 ms, 5 ms … 100 ms) however soon it is free again. Writers of the hot
# paths queue instead: the threads of a process on a lock, the processes on a file lock beside
# the database, and each wakes as soon as the one before commits.
#
# SQLite copies the write-ahead log into the database (a checkpoint: 1,000 pages and two
# fsyncs, milliseconds) inside the commit that fills it, while that writer still holds the
# queue. Each process checkpoints after every CHECKPOINT_EVERY turns instead, outside the
# queue and without waiting for anyone, so the log rarely fills (SQLite's own checkpoint
# remains for the writers that do not queue, and as a safety net).
_SQLITE_WRITER = threading.Lock()
CHECKPOINT_EVERY = 20  # about 300 pages of leads per process
CHECKPOINT = "PRAGMA wal_checkpoint(PASSIVE)"  # copy what no reader still needs; never wait
_turns = itertools.count(1)
_queue_file_open: dict = {}  # the process's one open queue file: {"key": (pid, path), "fd": n}


def _queue_file(path: str) -> int:
    """Return this process's descriptor of the database's queue file, one open at a time (a
    process forked from another must not use the parent's: flock would see one owner)."""
    key = (os.getpid(), path)
    if _queue_file_open.get("key") != key:
        if "fd" in _queue_file_open:
            os.close(_queue_file_open["fd"])
        descriptor = os.open(path + "-writers", os.O_RDWR | os.O_CREAT, 0o600)
        _queue_file_open.update(key=key, fd=descriptor)
    return _queue_file_open["fd"]


@contextmanager
def write_transaction():
    """Yield a connection of its own (SQLAlchemy Core, no ORM unit of work) whose transaction
    commits when the block ends, or rolls back if it raises; on a SQLite file, writers take
    turns for it instead of polling for the lock."""
    # Connected before the turn (SQLite locks at the first write, not before).
    with db.engine.connect() as connection, _writer_turn(), connection.begin():
        yield connection


@contextmanager
def _writer_turn():
    """Around a write transaction that ends inside the block: on a SQLite file, writers take
    turns instead of polling for the lock; elsewhere, nothing."""
    url = db.engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        yield
        return
    with _SQLITE_WRITER:
        descriptor = _queue_file(url.database)
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    if next(_turns) % CHECKPOINT_EVERY == 0:
        _checkpoint()


def _checkpoint() -> None:
    """Copy the write-ahead log into the database; a failure is logged, never raised: the
    write before it is committed, and SQLite's own checkpoint copies the log later."""
    try:
        with db.engine.connect() as connection:
            connection.exec_driver_sql(CHECKPOINT)
    except SQLAlchemyError as error:
        cause = getattr(error, "orig", None) or error  # the driver's error, when there is one
        log.warning("SQLite checkpoint failed (%s); SQLite's own will copy the log",
                    type(cause).__name__)  # fmt: skip


def render_migration_item(type_: str, obj, autogen_context):
    """Write shared column types into migrations as plain SQLAlchemy types."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False


def lock_row(entity, row_id: int):
    """Hold a row until the transaction ends and return it as it is now, so that changes
    of the same row take turns instead of each building on what it read before."""
    key = entity.__table__.c.id
    if db.engine.dialect.name == "sqlite":
        # No row locks: any write takes the database's write lock, and the reads after it
        # in the transaction see the latest commit.
        db.session.execute(update(entity.__table__).where(key == row_id).values(id=key))
    else:
        db.session.execute(select(key).where(key == row_id).with_for_update())
    row = db.session.get(entity, row_id)
    db.session.expire(row)
    return row
