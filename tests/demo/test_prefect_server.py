"""The embedded Prefect server's SQLite transactions begin IMMEDIATE (demo/prefect_server.py):
the read-then-write race that made the demo's server log `database is locked` cannot happen."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from prefect.server.database.configurations import AioSqliteConfiguration
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from demo.prefect_server import ImmediateSqliteConfiguration


async def _prepare(config: AioSqliteConfiguration) -> None:
    engine = await config.engine()
    async with engine.connect() as connection:
        await connection.execute(text("CREATE TABLE heartbeat (worker TEXT)"))
        await connection.execute(text("INSERT INTO heartbeat VALUES ('a')"))
        await connection.commit()


async def _write(config: AioSqliteConfiguration, worker: str) -> None:
    session = await config.session(await config.engine())
    async with session, config.begin_transaction(session):
        await session.execute(text("INSERT INTO heartbeat VALUES (:w)"), {"w": worker})


async def _rows(config: AioSqliteConfiguration) -> list[str]:
    session = await config.session(await config.engine())
    async with session:
        rows = await session.execute(text("SELECT worker FROM heartbeat ORDER BY rowid"))
        return list(rows.scalars())


async def _read_then_write(config: AioSqliteConfiguration, *, meanwhile: bool) -> list[str]:
    """Prefect's pattern (a heartbeat, a resume): read, then write, in one transaction, while
    another connection writes. Returns the rows at the end, in the order they were written."""
    await _prepare(config)
    session = await config.session(await config.engine())
    async with session:
        async with config.begin_transaction(session):
            await session.execute(text("SELECT count(*) FROM heartbeat"))
            other = asyncio.create_task(_write(config, "b"))
            if meanwhile:  # Prefect's default: the other writer commits inside our transaction
                await other
            else:  # IMMEDIATE: the other writer must wait for our commit (busy timeout 60 s)
                done, _ = await asyncio.wait({other}, timeout=1)
                assert not done, "another writer got in while this transaction held the lock"
            await session.execute(text("INSERT INTO heartbeat VALUES ('c')"))
        await other
    return await _rows(config)


def test_prefects_default_fails_the_upgrade_at_once(tmp_path: Path) -> None:
    """The failure as the demo logged it: SQLite refuses a deferred transaction's read-to-write
    upgrade after another commit, without waiting out the busy timeout."""
    config = AioSqliteConfiguration(f"sqlite+aiosqlite:///{tmp_path}/prefect.db")
    with pytest.raises(OperationalError, match="database is locked"):
        asyncio.run(_read_then_write(config, meanwhile=True))


def test_immediate_transactions_queue_instead_of_failing(tmp_path: Path) -> None:
    config = ImmediateSqliteConfiguration(f"sqlite+aiosqlite:///{tmp_path}/prefect.db")
    # both writes land; the other writer's after this transaction's, as it waited for the lock
    assert asyncio.run(_read_then_write(config, meanwhile=False)) == ["a", "c", "b"]
