"""`python -m demo.prefect_server server start ...`: Prefect's own command line, unchanged but for
one thing on SQLite: every transaction the server opens begins `IMMEDIATE`.

Why: Prefect (3.8.8, and 3.9.1: `prefect/server/database/configurations.py` line 610) begins a
SQLite transaction `DEFERRED` unless the caller asks for a row lock
(`AioSqliteConfiguration.begin_transaction`, `with_for_update`). A deferred transaction that has
read and then writes must upgrade its read snapshot to the write lock; in WAL mode, if another
connection committed in between, SQLite answers `database is locked` at once, without waiting
out the busy timeout (the snapshot is stale, so waiting cannot help). Resuming a paused run
(`POST /flow_runs/{id}/resume`), a worker's heartbeat over its channel and a run's state
validation take that path, and the demo logged them as errors. Prefect's own comment on its
SQLite settings names the cure, "use the IMMEDIATE transaction mode": such a transaction takes
the write lock at its start, where SQLite does wait (busy timeout 60 s), so writers queue
instead of failing. Reads outside a transaction are untouched.

The hook is Prefect's own (`prefect.server.database.dependencies.set_database_config`, the way to
inject a database configuration); nothing of Prefect is patched. PostgreSQL is left as it is.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

from prefect.server.database.configurations import AioSqliteConfiguration
from prefect.server.database.dependencies import set_database_config
from prefect.settings import PREFECT_API_DATABASE_CONNECTION_URL
from sqlalchemy.ext.asyncio import AsyncSession, AsyncSessionTransaction


class ImmediateSqliteConfiguration(AioSqliteConfiguration):
    """Prefect's SQLite configuration whose transactions all begin IMMEDIATE."""

    @asynccontextmanager
    async def begin_transaction(
        self, session: AsyncSession, with_for_update: bool = False
    ) -> AsyncGenerator[AsyncSessionTransaction, None]:
        async with super().begin_transaction(session, with_for_update=True) as transaction:
            yield transaction


def configure() -> bool:
    """Install the configuration if the server's database is SQLite; True if it did."""
    url = PREFECT_API_DATABASE_CONNECTION_URL.value()
    if url is None or not url.startswith("sqlite"):
        return False
    set_database_config(ImmediateSqliteConfiguration(connection_url=url))
    return True


def main() -> None:
    configure()
    from prefect.cli import app

    app()


if __name__ == "__main__":
    main()
