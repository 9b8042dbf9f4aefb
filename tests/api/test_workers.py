"""`cin api --workers N` (CIN_API_WORKERS): N uvicorn processes on one port, each with 1/N of the
per-key rate limit, each remembering the keys it verified, and a revocation refused by all of
them from the next request."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy import Engine

from api.app import create_app
from demo.api_process import REPO, ApiProcess
from demo.local_server import free_port
from models.settings import Settings
from tests.api.conftest import new_key, referral, serve
from tests.engine.test_worker import drop, pg_database


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_each_worker_holds_its_share_of_the_rate_limit(engine: Engine) -> None:
    key = new_key(engine, scope="read")
    share = create_app(engine, None, Settings(api_workers=2, api_rate_per_second=1,
                                              api_rate_burst=4))  # fmt: skip
    for url, _server in serve(share):
        with httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=30) as http:
            answers = [http.get(f"{url}/v1/deadlines").status_code for _ in range(3)]
    assert answers == [200, 200, 429]  # a burst of 4 over 2 workers: 2 here


def _cin(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "cli.main", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, check=True)  # fmt: skip
    return done.stdout


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if (
                entry.name.isdigit()
                and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid
            ):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[tuple[ApiProcess, dict[str, str]]]:
    name, url = pg_database("apiworkers")
    env = {**os.environ, "CIN_DATA_DIR": str(tmp_path), "CIN_DATABASE_URL": url,
           "CIN_TODAY": "2025-06-02", "CIN_API_WORKERS": "2"}  # fmt: skip
    api = ApiProcess(env, free_port(), tmp_path / "api.log")
    try:
        yield api, env
    finally:
        api.stop()
        drop(name)


def test_two_workers_accept_on_one_port_and_both_refuse_a_revoked_key(
    two_workers: tuple[ApiProcess, dict[str, str]],
) -> None:
    api, env = two_workers
    key = _cin(env, "api", "key", "create", "--authority", "redbridge", "--name", "ics",
               "--scope", "record").splitlines()[-1]  # fmt: skip
    api.start(timeout=120)
    assert api.process is not None and len(_children(api.process.pid)) >= 2
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=api.url, headers=headers, timeout=60) as http:

        def open_one(n: int) -> int:
            body = referral(child=f"C{n}")
            return http.post(
                "/v1/cases", json=body, headers={"Idempotency-Key": f"k-{n}"}
            ).status_code

        with ThreadPoolExecutor(8) as pool:
            assert list(pool.map(open_one, range(24))) == [201] * 24
        _cin(env, "api", "key", "revoke", key.split("_")[1])
        with ThreadPoolExecutor(8) as pool:
            refused = list(pool.map(open_one, range(24, 40)))
    assert refused == [401] * 16
    database = env["CIN_DATABASE_URL"].rsplit("/", 1)[1]
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={database}") as conn:
        events = conn.execute("SELECT count(*) FROM case_event").fetchone()
        audited = conn.execute(
            "SELECT outcome, count(*) FROM audit_log GROUP BY outcome ORDER BY outcome"
        ).fetchall()
    assert events == (24,)
    assert audited == [("201 opened", 24), ("401", 16)]
