"""A lease in the database that lets one export run at a time, on SQLite and PostgreSQL.

The holder renews the lease as it works. A holder that dies stops renewing, and the lease
runs out; on the same host a dead holder's process is noticed at once.
"""

import os
import socket
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, update

from database import db, upsert_insert
from export.models import ExportLock

LOCK_NAME = "export"
LEASE = timedelta(minutes=2)  # a run renews it after each batch and file
_run_process: dict[str, int] = {}  # in a run's worker process: {"pid": the run's process}


class LockLost(RuntimeError):
    """Another process took the lease: the run must stop before it writes anything more."""


def this_holder() -> str:
    return f"{socket.gethostname()}:{_run_process.get('pid', os.getpid())}"


def act_for(pid: int) -> None:
    """Hold the lease as the run's process `pid` does (in a worker it started)."""
    _run_process["pid"] = pid


def _dead_on_this_host(holder: str | None) -> bool:
    host, _, pid = (holder or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def acquire(lease: timedelta) -> str | None:
    """Take the lease and commit; return None, or who holds it when it is taken.

    Leases run on the wall clock, whatever clock the export's rules are given.
    """
    now = datetime.now(UTC)
    table = ExportLock.__table__
    dialect = db.session.get_bind().dialect.name
    db.session.execute(
        upsert_insert(dialect, table).values(name=LOCK_NAME).on_conflict_do_nothing()
    )
    db.session.commit()
    current = db.session.get(ExportLock, LOCK_NAME, populate_existing=True)
    takeover = current.holder if _dead_on_this_host(current.holder) else None
    taken = db.session.execute(
        update(table)
        .where(table.c.name == LOCK_NAME,
               or_(table.c.holder.is_(None), table.c.expires_at < now,
                   table.c.holder == takeover))
        .values(holder=this_holder(), expires_at=now + lease)
    ).rowcount  # fmt: skip
    db.session.commit()
    if taken == 1:
        return None
    current = db.session.get(ExportLock, LOCK_NAME, populate_existing=True)
    return f"{current.holder} (lease until {current.expires_at:%Y-%m-%d %H:%M:%S} UTC)"


def renew(lease: timedelta) -> None:
    """Extend the lease within the caller's transaction, or raise LockLost."""
    now = datetime.now(UTC)
    table = ExportLock.__table__
    renewed = db.session.execute(
        update(table)
        .where(table.c.name == LOCK_NAME, table.c.holder == this_holder())
        .values(expires_at=now + lease)
    ).rowcount
    if renewed != 1:
        raise LockLost("another export took the lock; this run stopped")


def release() -> None:
    """Give the lease up (commits)."""
    db.session.rollback()
    table = ExportLock.__table__
    db.session.execute(
        update(table)
        .where(table.c.name == LOCK_NAME, table.c.holder == this_holder())
        .values(holder=None, expires_at=None)
    )
    db.session.commit()
