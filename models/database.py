"""Engines for the case database; the schema is brought up to date by Alembic."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, exc, make_url, text
from sqlalchemy.pool import NullPool

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # Alembic loads only when a schema may need changing

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    return config


def migrate(url: str) -> None:
    """Create or upgrade the schema to the newest migration. A new SQLite database and its folder
    are made readable by their owner only (0600 / 0700): they hold children's records."""
    parsed = make_url(url)
    # a SQLite URI (`file:...?mode=ro&uri=true`) names a file SQLite opens itself: never create it
    if parsed.get_backend_name() == "sqlite" and parsed.query.get("uri") != "true":
        if parsed.database and parsed.database != ":memory:":
            create_private_file(Path(parsed.database))
    from models.schema_head import at_head

    if at_head(get_engine(url)):
        return  # the common case: every command after the first
    from alembic import command

    with _migration_lock(url):  # two `cin init` at once: the second waits, then finds it done
        command.upgrade(alembic_config(url), "head")


MIGRATION_LOCK_KEY = 0x43494E26  # PostgreSQL advisory lock id for schema upgrades ("CIN&")


@contextmanager
def _migration_lock(url: str) -> Iterator[None]:
    """One schema upgrade at a time per database: a PostgreSQL advisory lock, or an exclusive
    lock on a `<database>.migrate-lock` file beside a SQLite database (issue 26: concurrent
    `cin init` losers failed with "duplicate" or "cannot be used")."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        engine = create_engine(url, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
                try:
                    yield
                finally:
                    conn.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY}
                    )
        finally:
            engine.dispose()
        return
    if (
        parsed.get_backend_name() != "sqlite"
        or not parsed.database
        or parsed.database == ":memory:"
    ):
        yield
        return
    import fcntl

    lock_path = f"{parsed.database}.migrate-lock"
    descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def create_private_file(path: Path) -> None:
    """Make `path`'s folder (0700) and an empty file (0600) unless they exist; SQLite gives its
    -wal and -shm files the database file's mode."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


@lru_cache(maxsize=8)
def get_engine(url: str, pool_size: int = 5) -> Engine:
    """The engine for `url`, one a process; `pool_size` connections kept open (SQLAlchemy's
    default 5; the HTTP API keeps one per concurrent request, `api_db_connections`: a connection
    opened and closed per request costs a PostgreSQL backend process each time)."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            hide_parameters=True,  # SQL parameters (a child's reference) never reach a traceback
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # Take the write lock at BEGIN: an accept reads the case and writes it in one transaction,
        # and a deferred transaction would fail its upgrade from read to write under contention.
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        return engine
    engine = create_engine(
        url, hide_parameters=True, connect_args={"connect_timeout": 10}, pool_size=pool_size
    )
    _ping_when_idle(engine)
    return engine


IDLE_PING_SECONDS = 5.0


def _ping_when_idle(engine: Engine) -> None:
    """`pool_pre_ping`, but only for a connection idle in the pool for `IDLE_PING_SECONDS`: a
    server restart or an idle timeout is still found before a statement fails on it, without a
    round trip before every statement of a busy worker (a case run checks out connections a
    dozen times an event; the ping was ~8% of a worker's time)."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi: object, record: Any) -> None:
        record.info["cin_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi: Any, record: Any, _proxy: object) -> None:
        since = record.info.get("cin_idle_since")
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return  # fresh from connect, or used a moment ago
        try:
            engine.dialect.do_ping(dbapi)
        except Exception as error:
            # the pool discards this connection and checks out another (a new one if need be)
            raise exc.DisconnectionError(str(error)) from error


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.close()
    # pysqlite's own BEGIN handling would interfere with BEGIN IMMEDIATE above
    dbapi_connection.isolation_level = None  # type: ignore[attr-defined]
