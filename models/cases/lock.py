"""A per-case lock in the case database: no case executes in two places at once.

Prefect claims a run once (its Pending transition), but a run handed out twice, or taken back
from a worker that only looked dead, must still not execute its case twice. The executor holds
this lock for as long as it runs the case; the lock dies with the process that holds it, which
also makes it the lease a dead worker's runs are recovered by (engine/delivery.py).

- PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) on a connection kept for the
  lock's life. Every worker on every machine sees it; a killed worker's connection closes and the
  server drops the lock.
- SQLite (one machine by nature): a POSIX byte-range lock on a file beside the database, one byte
  per case, which the kernel drops when the process dies; threads of one process are kept apart
  by an in-process table, since POSIX locks belong to the process.
"""

from __future__ import annotations

import fcntl
import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

from models.settings import get_settings

_held: set[tuple[str, int]] = set()
_held_guard = threading.Lock()
_files: dict[str, int] = {}  # kept open for the process's life: closing one drops its locks


def lock_key(case_id: uuid.UUID) -> int:
    """A signed 64-bit key for the case (PostgreSQL's advisory lock key space)."""
    return int.from_bytes(case_id.bytes[:8], "big", signed=True)


@contextmanager
def case_lock(engine: Engine, case_id: uuid.UUID) -> Iterator[bool]:
    """Try to take the case's lock without waiting; yields whether this caller holds it."""
    if not get_settings().case_lock:
        yield True  # switched off only to show what the lock prevents (tests)
        return
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine, lock_key(case_id)) as held:
            yield held
    else:
        with _file_lock(_lock_file(engine), lock_key(case_id) & 0x3FFF_FFFF_FFFF) as held:
            yield held


@contextmanager
def _advisory_lock(engine: Engine, key: int) -> Iterator[bool]:
    with engine.connect() as conn:
        held = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
        conn.commit()  # the lock is the session's, not the transaction's: do not sit in one
        try:
            yield held
        finally:
            if held:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()


def _lock_file(engine: Engine) -> str:
    database = engine.url.database
    if not database or database == ":memory:":
        raise ValueError("a case lock on SQLite needs a database file")
    return f"{database}-case-locks"


@contextmanager
def _file_lock(path: str, offset: int) -> Iterator[bool]:
    with _held_guard:
        if (path, offset) in _held:
            held = False
        else:
            fd = _files.get(path)
            if fd is None:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
                _files[path] = fd
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset)
                held = True
                _held.add((path, offset))
            except OSError:
                held = False
    try:
        yield held
    finally:
        if held:
            with _held_guard:
                fcntl.lockf(_files[path], fcntl.LOCK_UN, 1, offset)
                _held.discard((path, offset))


def lock_file_of(database_path: Path) -> Path:
    """Where the SQLite case locks of `database_path` live (for permissions and clean-up)."""
    return Path(f"{database_path}-case-locks")
