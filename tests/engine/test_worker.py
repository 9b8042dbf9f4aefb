"""Several `cin worker` processes on one case database and one Prefect server (issue 9), with
PostgreSQL under both, events fed from several processes at once and a worker killed mid-run:
each case has exactly one run, each event's work ran exactly once, every run is suspended.

Run with CIN_RUN_IDEMPOTENCY=false or CIN_CASE_LOCK=false in the environment (handed to every
process) to see what each safety net prevents: the test then fails.

One API server with its services, and 16 cases: quick enough for every run of the suite. The
topology the issue describes (two API servers without services, a services process and Redis,
200 cases, an API server killed too) is tests/engine/test_topology.py.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    TaskRunFilter,
    TaskRunFilterName,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.sorting import FlowRunSort, TaskRunSort
from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings
from sqlmodel import Session, select

import models.runtime
from demo.local_server import PrefectServer, free_port, wait_until
from engine.ingest import Ingest
from engine.worker import case_deployment_id
from models.tables import Case, CaseWork
from tests.conftest import drop, pg_database
from tests.flows.prefect_reads import event_seqs
from tests.flows.processes import Worker

REPO = Path(__file__).resolve().parents[2]
CASES = 16
FEED = """
import sys
from engine.ingest import Ingest
ingest = Ingest.from_settings()
for ref in sys.argv[1:]:
    ingest.record(ref, {"type": "referral_decision", "on": "2025-03-04", "outcome": "assessment"})
    ingest.record(ref, {"type": "assessment_started", "on": "2025-03-05"})
    ingest.record(ref, {"type": "assessment_completed", "on": "2025-04-01", "outcome": "cin_plan"})
    ingest.record(ref, {"type": "cin_meeting_held", "on": "2025-04-14"})
"""


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    prefect_name, prefect_url = pg_database("prefect")
    cases_name, cases_url = pg_database("cases")
    server = PrefectServer(
        tmp_path / "prefect",
        free_port(),
        database_url=prefect_url.replace("postgresql+psycopg", "postgresql+asyncpg"),
    )
    server.start(timeout=240)
    env = {**server.env(), "CIN_DATA_DIR": str(tmp_path), "CIN_DATABASE_URL": cases_url}
    env.pop("CIN_CRASH_AT", None)
    for key in ("CIN_DATA_DIR", "CIN_DATABASE_URL"):
        monkeypatch.setenv(key, env[key])
    models.runtime._engine.cache_clear()
    pinned = {PREFECT_API_URL: server.api_url, PREFECT_API_AUTH_STRING: server.auth_string}
    workers = [Worker(env, tmp_path / f"worker{i}.log") for i in range(3)]
    try:
        with temporary_settings(updates=pinned):
            yield env, workers
    finally:
        for worker in workers:
            worker.stop()
        server.stop()
        drop(prefect_name)
        drop(cases_name)


def state_of(engine) -> tuple[bool, bool]:
    with Session(engine) as session:
        cases = session.exec(select(Case)).all()
    handled = len(cases) == CASES and all(c.flow_seq == c.last_seq == 5 for c in cases)
    if not handled:
        return False, False
    with get_client(sync_client=True) as client:
        suspended = all(
            client.read_flow_run(c.flow_run_id).state.type is StateType.PAUSED for c in cases
        )
    return handled, suspended


def test_three_workers_one_killed_every_case_one_run_every_event_once(cluster) -> None:
    env, workers = cluster
    ingest = Ingest.from_settings()
    case_deployment_id(ingest.engine)
    for worker in workers:
        worker.start()
    on = date(2025, 3, 3)
    # opened without delivery: the first deliveries race between the feeders and the workers
    quiet = Ingest(ingest.engine, ingest.policies, deliver=False)
    refs = [
        quiet.refer(authority="stockton-on-tees", child_ref=f"SYN{i}", on=on).case_ref
        for i in range(CASES)
    ]
    feeders = [
        subprocess.Popen([sys.executable, "-c", FEED, *refs[i::2]], env=env, cwd=REPO)
        for i in range(2)
    ]

    def some_work_done() -> bool:
        with Session(ingest.engine) as session:
            return len(session.exec(select(CaseWork)).all()) >= CASES + 8

    wait_until(some_work_done, 240, "the workers to start on the events")
    workers[0].stop()  # SIGKILL mid-run: its runs are left Running, its locks die with it
    for feeder in feeders:
        assert feeder.wait(timeout=300) == 0
    wait_until(lambda: state_of(ingest.engine)[0], 300, "the other workers to catch up")
    workers[0].start()
    wait_until(lambda: all(state_of(ingest.engine)), 300, "every case run to suspend")

    deployment = case_deployment_id(ingest.engine)
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment])),
            sort=FlowRunSort.EXPECTED_START_TIME_ASC,
            limit=200,
        )
        # exactly one run per case
        assert Counter(r.parameters["case_ref"] for r in runs) == dict.fromkeys(refs, 1)
    with Session(ingest.engine) as session:
        ledger = Counter()
        for case in session.exec(select(Case)).all():
            for row in session.exec(select(CaseWork).where(CaseWork.case_id == case.id)):
                ledger[(case.flow_run_id, row.seq)] += row.attempts
    # each event's work ran exactly once, and the task runs agree with the ledger. Prefect
    # records task runs from the events its clients send, written in batches at least every
    # second (demo/local_server.py SERVICE_BATCHES): they may arrive after the ledger.
    assert set(ledger.values()) == {1} and len(ledger) == CASES * 5
    deadline = time.monotonic() + 60
    while (done := set(tasks := event_tasks([r.id for r in runs]))) != set(ledger):
        if not done < set(ledger) or time.monotonic() > deadline:
            break  # something the ledger does not hold, or the records stopped coming
        time.sleep(0.5)
    assert done == set(ledger)
    # no event's task body ran twice (a repeat after a crash finds Prefect's cache: "Cached"),
    # and no two of a run's task runs overlap: one execution of a case at a time
    ran = Counter(key for key, states in tasks.items() for s in states if s[0])
    assert max(ran.values()) == 1, [key for key, n in ran.items() if n > 1]
    spans: dict[uuid.UUID | None, set[tuple[Any, Any]]] = {}
    for (run_id, _), states in tasks.items():  # a task run handed several events: one span
        spans.setdefault(run_id, set()).update((s, e) for ran_it, s, e in states if ran_it)
    overlapping = [
        run_id
        for run_id, pairs in spans.items()
        for (_, end), (start, _) in zip(sorted(pairs), sorted(pairs)[1:], strict=False)
        if start < end
    ]
    assert overlapping == []


def event_tasks(run_ids: list[uuid.UUID]) -> dict[tuple[uuid.UUID | None, int], list[Any]]:
    """(flow run, event seq) -> (its body ran: Completed, not Cached; start; end) of each
    completed task run of these runs handed that event."""
    with get_client(sync_client=True) as client:
        task_runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id={"any_": run_ids}),
            task_run_filter=TaskRunFilter(name=TaskRunFilterName(like_="#")),
            sort=TaskRunSort.EXPECTED_START_TIME_ASC,
            limit=200,
        )
    found: dict[tuple[uuid.UUID | None, int], list[Any]] = {}
    for t in task_runs:
        if "#" in t.name and t.state and t.state.type is StateType.COMPLETED:
            # one task run a wake-up, named after each event it was handed (tasks/case_work.py)
            for seq in event_seqs(t.name):
                found.setdefault((t.flow_run_id, seq), []).append(
                    (t.state.name == "Completed", t.start_time, t.end_time)
                )
    return found
