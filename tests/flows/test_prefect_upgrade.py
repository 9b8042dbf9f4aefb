"""A running installation moves from the previous Prefect pin (3.8.8) to the current one with
case runs suspended in its server, and loses nothing (docs/prefect.md, "Upgrading").

The old installation is real: `.venv-prefect-old` (`make .venv-prefect-old/.installed`, built by
`make test`) holds Prefect 3.8.8 and the engine's code at main's last commit on it. Its server
runs on SQLite or PostgreSQL; its engine refers cases and works until each case run suspends at
its next event. Then, as docs/prefect.md says: the workers are stopped (they were: `until_idle`),
the server is stopped, Prefect's database migration is run by the new Prefect, the server starts
again on the new Prefect against the same database, each case is rebuilt from its log (the
engine's state schema moved on too), and this branch's engine records one more
event per case: every run resumes, does that event's work and suspends at the following one.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import prefect
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import StateType
from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogWorker
from prefect.settings import (
    PREFECT_API_AUTH_STRING,
    PREFECT_API_URL,
    PREFECT_LOCAL_STORAGE_PATH,
    temporary_settings,
)
from sqlalchemy import make_url
from sqlmodel import Session

from demo.local_server import PrefectServer, free_port
from engine.ingest import Ingest
from engine.worker import work
from models.cases.ledger import rebuild
from models.cases.reads import load_case
from tests.conftest import _postgres_database

ROOT = Path(__file__).resolve().parents[2]
OLD_PYTHON = ROOT / ".venv-prefect-old" / "bin" / "python"
OLD_PREFECT = "3.8.8"
SETUP = Path(__file__).with_name("prefect_upgrade_setup.py")


@pytest.fixture(params=["sqlite", "postgresql"])
def prefect_database(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The Prefect server's own database: None for SQLite in its home, or a PostgreSQL URL."""
    if request.param == "sqlite":
        yield None
        return
    for url in _postgres_database():  # made for this test, dropped after it
        yield make_url(url).set(drivername="postgresql+asyncpg").render_as_string(False)


def _run_state(run_id):  # type: ignore[no-untyped-def]
    with get_client(sync_client=True) as client:
        return client.read_flow_run(run_id).state


def test_suspended_case_runs_resume_after_the_server_moves_to_the_new_prefect(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prefect_database: str | None
) -> None:
    if not OLD_PYTHON.exists():
        pytest.fail(
            f"{OLD_PYTHON} is missing: `make .venv-prefect-old/.installed` builds it "
            "(`make test` does)",
            pytrace=False,
        )
    home, storage = tmp_path / "prefect", tmp_path / "results"
    port = free_port()
    data = tmp_path / "data"
    monkeypatch.setenv("CIN_DATA_DIR", str(data))
    monkeypatch.delenv("CIN_DATABASE_URL", raising=False)
    # the real clock: an earlier test in the session may leave CIN_TODAY (the browser test sets
    # it to February 2025), and this test's events fall after that date
    monkeypatch.delenv("CIN_TODAY", raising=False)
    monkeypatch.setenv("PREFECT_LOCAL_STORAGE_PATH", str(storage))

    # the old installation: its server, its engine, case runs suspended in it
    old = PrefectServer(home, port, database_url=prefect_database, python=str(OLD_PYTHON))
    old.start(timeout=180)
    try:
        env = {**old.env(), "CIN_DATA_DIR": str(data)}
        env.pop("PYTHONPATH", None)
        env.pop("CIN_TODAY", None)
        made = subprocess.run(
            [str(OLD_PYTHON), str(SETUP), OLD_PREFECT],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr[-3000:]
        refs = made.stdout.split()
        assert len(refs) == 3, made.stdout
        assert old.log_errors() == []
    finally:
        old.stop()

    # the upgrade: Prefect's own migration by the new Prefect, then the server on it
    new = PrefectServer(home, port, database_url=prefect_database)
    migrated = subprocess.run(
        [sys.executable, "-m", "prefect", "server", "database", "upgrade", "-y"],
        env=new.env(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    new.start(timeout=180)
    try:
        settings = {
            PREFECT_API_URL: new.api_url,
            PREFECT_API_AUTH_STRING: new.auth_string,
            PREFECT_LOCAL_STORAGE_PATH: str(storage),
        }
        for setting, value in settings.items():  # the worker's threads read the environment
            monkeypatch.setenv(setting.name, value)
        with temporary_settings(updates=settings):
            with get_client(sync_client=True) as client:
                assert client.api_version()  # the new server answers
                version = client._client.get("/admin/version").json()
            assert version == prefect.__version__ != OLD_PREFECT, version
            ingest = Ingest.from_settings()
            runs = {}
            with Session(ingest.engine) as session:
                for ref in refs:
                    case = load_case(session, ref)
                    assert case.flow_seq == case.last_seq == 2, (ref, case.flow_seq)
                    runs[ref] = case.flow_run_id
            for ref, run_id in runs.items():
                state = _run_state(run_id)  # as the old server left it
                assert state.type is StateType.PAUSED, (ref, state)
                assert state.state_details.pause_key == "event-3", (ref, state.state_details)

            # the engine's own upgrade: its state schema moved from 2 to 3 (issue 19), so each
            # case is re-derived from its log before it takes another event (docs/prefect.md)
            for ref in refs:
                rebuilt = rebuild(ingest.engine, policies=ingest.policies, case_ref=ref)
                assert rebuilt["events"] == 2 and not rebuilt["state_matched"], rebuilt
            for ref in refs:
                event = {"type": "assessment_completed", "on": "2025-02-10", "outcome": "cin_plan"}
                ingest.record(ref, event, key=f"upgrade-{ref}-2")
            work(ingest.engine, threads=2, until_idle=True)

            with Session(ingest.engine) as session:
                for ref in refs:
                    case = load_case(session, ref)
                    assert case.flow_seq == case.last_seq == 3, (ref, case.flow_seq)
                    assert case.flow_run_id == runs[ref], ref  # the same run, resumed
            for ref, run_id in runs.items():
                state = _run_state(run_id)
                assert state.type is StateType.PAUSED, (ref, state)
                assert state.state_details.pause_key == "event-4", (ref, state.state_details)
                assert "stage plan_pending" in (state.message or ""), (ref, state.message)
            # the runs' task-run events and logs reach this server before it stops
            for background in (EventsWorker, APILogWorker):
                background.drain_all(timeout=30)
        assert new.log_errors() == []
    finally:
        new.stop()


def test_the_old_installation_is_the_previous_pin() -> None:
    """The venv the upgrade starts from has the previous Prefect, not this branch's."""
    if not OLD_PYTHON.exists():
        pytest.fail(f"{OLD_PYTHON} is missing: `make .venv-prefect-old/.installed`", pytrace=False)
    found = subprocess.run(
        [str(OLD_PYTHON), "-c", "import prefect; print(prefect.__version__)"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": ""},
        cwd="/",
    )  # fmt: skip
    assert found.stdout.strip() == OLD_PREFECT, found.stderr[-2000:]
