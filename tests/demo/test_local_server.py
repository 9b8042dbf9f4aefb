"""The Prefect server the engine starts is closed to strangers (issue 9, "Closed to strangers")."""

from __future__ import annotations

import asyncio
import sqlite3
import stat
from pathlib import Path

import httpx

from demo.local_server import PrefectServer, copy_database, free_port


def test_an_anonymous_call_is_refused_and_an_authenticated_one_works(tmp_path: Path) -> None:
    server = PrefectServer(tmp_path / "prefect", free_port())
    server.start(wait=False)  # as the demo starts it: booting while other work goes on
    try:
        server.wait_healthy()
        query = {"limit": 1}
        anonymous = httpx.post(f"{server.api_url}/flow_runs/filter", json=query, timeout=10)
        assert anonymous.status_code == 401
        wrong = httpx.post(
            f"{server.api_url}/flow_runs/filter", json=query, auth=("cin", "guess"), timeout=10
        )
        assert wrong.status_code == 401
        # nor can a stranger change anything
        cancel = httpx.post(
            f"{server.api_url}/flow_runs/00000000-0000-0000-0000-000000000000/set_state",
            json={"state": {"type": "CANCELLED"}, "force": True},
            timeout=10,
        )
        assert cancel.status_code == 401
        allowed = httpx.post(
            f"{server.api_url}/flow_runs/filter", json=query, headers=server.headers(), timeout=10
        )
        assert allowed.status_code == 200 and allowed.json() == []
    finally:
        server.stop()
    secret = server.home / "api-auth"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert stat.S_IMODE(server.home.stat().st_mode) == 0o700


def test_thirty_workers_polling_at_once_get_answers_and_leave_no_error(
    tmp_path: Path, prefect_template: Path
) -> None:
    """Issue 12, point 6: the embedded SQLite server takes a burst of writers without error.
    Each worker's heartbeat and poll reads, then writes, in one transaction; with Prefect's
    default (deferred) transactions such a burst gets 503s and logs `database is locked`."""
    server = PrefectServer(tmp_path / "prefect", free_port(), template=prefect_template)
    server.start()
    codes: list[int] = []

    async def burst() -> None:
        async with httpx.AsyncClient(
            base_url=server.api_url, headers=server.headers(), timeout=120
        ) as client:
            pool = await client.post("/work_pools/", json={"name": "burst", "type": "process"})
            assert pool.status_code == 201, pool.text

            async def worker(name: str) -> None:
                for _ in range(5):
                    beat = {"name": name, "heartbeat_interval_seconds": 30}
                    codes.append(
                        (
                            await client.post("/work_pools/burst/workers/heartbeat", json=beat)
                        ).status_code
                    )
                    poll = "/work_pools/burst/get_scheduled_flow_runs"
                    codes.append((await client.post(poll, json={})).status_code)

            await asyncio.gather(*(worker(f"worker-{i}") for i in range(30)))

    try:
        asyncio.run(burst())
    finally:
        server.stop()
    assert len(codes) == 300 and set(codes) <= {200, 204}, sorted(set(codes))
    assert server.log_errors() == []


def test_a_template_database_is_copied_whole_and_never_over_a_database(tmp_path: Path) -> None:
    """`copy_database` (the tests' migrated Prefect template): a consistent copy, renamed into
    place; a database already at the target is kept (a restarted server keeps what it has)."""
    template, target = tmp_path / "template.db", tmp_path / "home" / "prefect.db"
    target.parent.mkdir()
    with sqlite3.connect(template) as db:
        db.execute("CREATE TABLE alembic_version (version_num TEXT)")
        db.execute("INSERT INTO alembic_version VALUES ('abc')")
    db.close()
    copy_database(template, target)
    with sqlite3.connect(target) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [("abc",)]
        db.execute("UPDATE alembic_version SET version_num = 'mine'")
    db.close()
    copy_database(template, target)
    with sqlite3.connect(target) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [("mine",)]
    db.close()
    assert sorted(p.name for p in target.parent.iterdir()) == ["prefect.db"]  # no partial left
