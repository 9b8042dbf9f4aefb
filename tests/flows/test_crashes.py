"""Crashes with real processes: every accepted event is applied exactly once afterwards."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import StateType
from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings
from sqlmodel import Session, select

from engine.ingest import Ingest
from models.tables import Case, CaseEvent, CaseWork
from tests.flows.processes import PrefectServer, Worker, free_port, wait_until


@pytest.fixture
def server(tmp_path, monkeypatch, prefect_template):
    home = tmp_path / "prefect"
    home.mkdir()
    server = PrefectServer(home, free_port(), template=prefect_template)
    for key, value in server.env().items():
        if key.startswith("PREFECT_"):
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("CIN_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CIN_DATABASE_URL", raising=False)
    server.start()
    # env for the worker processes; settings for this one (the session's harness pins its own)
    pinned = {PREFECT_API_URL: server.api_url, PREFECT_API_AUTH_STRING: server.auth_string}
    with temporary_settings(updates=pinned):
        yield server
    if server.process and server.process.poll() is None:
        server.kill()


@pytest.fixture
def worker(server, tmp_path):
    env = {**server.env(), "CIN_DATA_DIR": str(tmp_path)}
    worker = Worker(env, tmp_path / "worker.log")
    yield worker
    worker.stop()


def all_handled(engine) -> bool:
    with Session(engine) as session:
        cases = session.exec(select(Case)).all()
    return bool(cases) and all(c.flow_seq == c.last_seq for c in cases)


def all_suspended(engine) -> bool:
    with Session(engine) as session:
        run_ids = [c.flow_run_id for c in session.exec(select(Case)).all()]
    with get_client(sync_client=True) as client:
        return all(client.read_flow_run(r).state.type is StateType.PAUSED for r in run_ids)


def work_attempts(engine, case: Case) -> dict[int, int]:
    """The case run's ledger: event seq -> how many times its work ran."""
    with Session(engine) as session:
        rows = session.exec(select(CaseWork).where(CaseWork.case_id == case.id)).all()
    return {row.seq: row.attempts for row in rows}


def crash_on_event_2(ingest: Ingest, worker: Worker, child_ref: str, crash_at: str) -> Case:
    """A case with three events, and a worker that dies (as in a power cut) at `crash_at` while
    handling event 2: the case as the crash left it. The three were accepted before the worker
    started, so its first wake-up hands them to one task run and marks them handled together
    once it returns: the crash leaves none marked."""
    case_ref = ingest.refer(
        authority="redbridge", child_ref=child_ref, on=date(2025, 1, 6)
    ).case_ref
    ingest.record(
        case_ref, {"type": "referral_decision", "on": "2025-01-07", "outcome": "assessment"}
    )
    ingest.record(case_ref, {"type": "assessment_started", "on": "2025-01-08"})
    worker.start(CIN_CRASH_AT=crash_at)
    assert worker.wait_exit(timeout=120) == 137
    with Session(ingest.engine) as session:
        case = session.exec(select(Case).where(Case.case_ref == case_ref)).one()
    assert (case.flow_seq, case.last_seq) == (0, 3)
    return case


def test_worker_killed_between_doing_an_events_work_and_recording_it(server, worker):
    ingest = Ingest.from_settings()
    # the worker dies after the events' work, before the run records event 2 as handled
    case = crash_on_event_2(ingest, worker, "SYN9", "after-work:2")
    case_ref = case.case_ref
    # the wake-up's one task run did the three events' work before the crash
    assert work_attempts(ingest.engine, case) == {1: 1, 2: 1, 3: 1}

    # events keep being accepted while no worker is up
    ingest.record(
        case_ref, {"type": "assessment_completed", "on": "2025-02-10", "outcome": "cin_plan"}
    )

    worker.start()
    wait_until(lambda: all_handled(ingest.engine), 120, "the restarted worker to catch up")
    with Session(ingest.engine) as session:
        case = session.exec(select(Case).where(Case.case_ref == case_ref)).one()
        events = session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id)).all()
    assert sorted(e.seq for e in events) == [1, 2, 3, 4]
    assert case.stage == "plan_pending"
    # event 2's work ran before the crash; the restarted run found it in the result cache
    assert work_attempts(ingest.engine, case) == {1: 1, 2: 1, 3: 1, 4: 1}


def test_worker_killed_after_the_ledger_write_before_prefect_records_the_result(server, worker):
    """Prefect's cache records a task's result after its body returns: a worker killed between
    the ledger write and that record leaves no cached result, and the taken-back run calls the
    task again. The ledger, not the cache, keeps the work from running twice."""
    ingest = Ingest.from_settings()
    case = crash_on_event_2(ingest, worker, "SYN8", "after-ledger:2")
    case_ref = case.case_ref
    assert work_attempts(ingest.engine, case) == {1: 1, 2: 1}  # event 2's work is in the ledger

    worker.start()
    wait_until(lambda: all_handled(ingest.engine), 120, "the restarted worker to catch up")
    with Session(ingest.engine) as session:
        case = session.exec(select(Case).where(Case.case_ref == case_ref)).one()
    assert case.stage == "assessment"
    assert work_attempts(ingest.engine, case) == {1: 1, 2: 1, 3: 1}


def test_prefect_server_killed_while_events_arrive(server, worker):
    ingest = Ingest.from_settings()
    worker.start()
    refs = [
        ingest.refer(
            authority="stockton-on-tees", child_ref=f"SYN{i}", on=date(2025, 3, 3)
        ).case_ref
        for i in range(3)
    ]
    decisions = [
        ingest.record(
            ref, {"type": "referral_decision", "on": "2025-03-04", "outcome": "assessment"}
        )
        for ref in refs
    ]
    assert all(not d.duplicate for d in decisions)

    server.kill()
    # with Prefect gone, events are still accepted: durable in the case database and its outbox
    started = {"type": "assessment_started", "on": "2025-03-05"}
    accepted_while_down = [ingest.record(ref, started, key=f"start-{ref}") for ref in refs]
    assert [a.seq for a in accepted_while_down] == [3, 3, 3]
    # a recording system retrying the same record (same key) adds nothing
    repeat = ingest.record(refs[0], started, key=f"start-{refs[0]}")
    assert repeat.duplicate and repeat.seq == 3

    server.start()
    on = date(2025, 4, 1)
    for ref in refs:
        ingest.record(
            ref, {"type": "assessment_completed", "on": on.isoformat(), "outcome": "cin_plan"}
        )
        on += timedelta(days=1)
    wait_until(lambda: all_handled(ingest.engine), 180, "every case run to catch up")
    # and every run back in its suspension (one interrupted by the outage is taken back)
    wait_until(lambda: all_suspended(ingest.engine), 180, "every case run to suspend again")

    with Session(ingest.engine) as session:
        cases = session.exec(select(Case)).all()
    for case in cases:
        done = work_attempts(ingest.engine, case)
        assert done == dict.fromkeys(range(1, case.last_seq + 1), 1), (case.case_ref, done)
    with get_client(sync_client=True) as client:
        for case in cases:
            assert client.read_flow_run(case.flow_run_id).state.type is StateType.PAUSED
