"""A worker whose threads are all busy does not poll the Prefect server (issue 9: the server's
CPU is the bottleneck, and such a poll could claim nothing); once a thread frees, it polls and
claims at once. A claim or a run the orchestrator refuses (Prefect raises `Pause` or `Abort`,
BaseExceptions) leaves the run alone and the worker up. On the session's real Prefect server,
with real case runs, except where said."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import StateType
from prefect.exceptions import Abort
from prefect.states import Scheduled
from sqlmodel import Session

import engine.delivery
from engine.ingest import Ingest
from engine.worker import CaseWorker
from models.cases.reads import load_case


def referred_case(child_ref: str) -> tuple[Ingest, uuid.UUID]:
    """A case just referred: its run is delivered (Scheduled), not yet claimed."""
    ingest = Ingest.from_settings()
    accepted = ingest.refer(authority="redbridge", child_ref=child_ref, on=date(2025, 1, 6))
    with Session(ingest.engine) as session:
        run_id = load_case(session, accepted.case_ref).flow_run_id
    assert run_id is not None
    return ingest, run_id


def test_a_full_worker_leaves_a_waiting_run_unpolled_and_claims_it_when_a_thread_frees(
    prefect_server, case_db
):
    ingest, run_id = referred_case("POLL1")
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(run_id).state
    assert state is not None and state.type is StateType.SCHEDULED  # delivered, not yet claimed

    async def drive() -> tuple[list[uuid.UUID], list[uuid.UUID], float]:
        worker = CaseWorker(ingest.engine, threads=1)
        async with worker:
            await worker.sync_with_backend()
            busy = uuid.uuid4()  # a run this worker's one thread is executing
            worker._submitting_flow_run_ids.add(busy)
            assert worker.full
            while_full = [run.id for run in await worker.get_and_submit_flow_runs()]
            # the thread finishes: `rest` returns at once, well before its poll interval
            worker._submitting_flow_run_ids.discard(busy)
            worker.freed.set()
            started = time.monotonic()
            await worker.rest(30.0)
            rested = time.monotonic() - started
            after = [run.id for run in await worker.get_and_submit_flow_runs()]
            while worker.busy:
                await asyncio.sleep(0.05)
        return while_full, after, rested

    while_full, after, rested = asyncio.run(drive())
    assert while_full == []
    assert rested < 5.0
    assert after == [run_id]
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(run_id).state
    assert state is not None and state.type is StateType.PAUSED  # claimed, ran, suspended


def test_a_run_suspended_since_the_poll_is_not_claimed_and_the_worker_carries_on(
    prefect_server, case_db
):
    """Two workers poll the same run; one claims it, runs it and suspends it before the other
    proposes its claim. Prefect answers the late claim with `Pause` (a BaseException its worker
    lets through): the worker must leave the run and carry on, not die."""
    ingest, run_id = referred_case("POLL3")
    with get_client(sync_client=True) as client:
        polled = client.read_flow_run(run_id)  # as the late worker's poll saw it: Scheduled
    assert polled.state is not None and polled.state.type is StateType.SCHEDULED

    async def drive() -> tuple[list[uuid.UUID], bool]:
        first, late = CaseWorker(ingest.engine, threads=1), CaseWorker(ingest.engine, threads=1)
        async with first, late:
            await first.sync_with_backend()
            claimed = [run.id for run in await first.get_and_submit_flow_runs()]
            while first.busy:
                await asyncio.sleep(0.05)
            late._submitting_flow_run_ids.add(run_id)  # as `_submit_scheduled_flow_runs` does
            late._limiter.acquire_on_behalf_of_nowait(run_id)
            await late._submit_run(polled)
            return claimed, late.busy or late.full

    claimed, late_still_holds_it = asyncio.run(drive())
    assert claimed == [run_id]
    assert not late_still_holds_it  # the late worker let the run go and its thread is free
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(run_id).state
    assert state is not None and state.type is StateType.PAUSED  # still the first's suspension


def test_a_run_the_orchestrator_refuses_is_left_and_nothing_escapes_the_thread(monkeypatch):
    """Prefect's engine raises `Abort` (a BaseException) when the orchestrator refuses one of
    the run's transitions, e.g. its suspension after the reconciler cancelled it as a stray
    mid-run. The worker's thread returns; the base class's `except Exception` would not have
    stopped it taking the worker down."""

    def refused(flow: object, run: object) -> None:
        raise Abort("Run is already in terminal state CANCELLED.")

    monkeypatch.setattr(engine.delivery, "run_in_process", refused)
    assert engine.delivery._execute(SimpleNamespace(id=uuid.uuid4())) == "Aborted"


def test_a_serving_worker_leaves_a_run_resumed_moments_ago_for_its_burst_of_events(
    prefect_server, case_db
):
    """`settle`: a run scheduled (created or resumed) under `settle` seconds ago is not claimed
    yet, so the events a recording system sends in a burst share one wake-up; once it has waited
    that long it is claimed as before."""
    ingest, run_id = referred_case("POLL2")

    async def drive() -> tuple[list[uuid.UUID], list[uuid.UUID]]:
        worker = CaseWorker(ingest.engine, threads=1, settle=60.0)
        async with worker:
            await worker.sync_with_backend()
            young = [run.id for run in await worker.get_and_submit_flow_runs()]
            # the same run, as if it had been resumed two minutes ago
            async with get_client() as client:
                await client.set_flow_run_state(
                    run_id,
                    Scheduled(scheduled_time=datetime.now(UTC) - timedelta(minutes=2)),
                    force=True,
                )
            settled = [run.id for run in await worker.get_and_submit_flow_runs()]
            while worker.busy:
                await asyncio.sleep(0.05)
        return young, settled

    young, settled = asyncio.run(drive())
    assert young == []
    assert settled == [run_id]
    with get_client(sync_client=True) as client:
        state = client.read_flow_run(run_id).state
    assert state is not None and state.type is StateType.PAUSED  # claimed, ran, suspended
