"""A worker whose threads are all busy does not poll the Prefect server (issue 9: the server's
CPU is the bottleneck, and such a poll could claim nothing); once a thread frees, it polls and
claims at once. On the session's real Prefect server, with a real case run waiting."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import date

from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import StateType
from sqlmodel import Session

from engine.ingest import Ingest
from engine.worker import CaseWorker
from models.case_reads import load_case


def test_a_full_worker_leaves_a_waiting_run_unpolled_and_claims_it_when_a_thread_frees(
    prefect_server, case_db
):
    ingest = Ingest.from_settings()
    accepted = ingest.refer(authority="redbridge", child_ref="POLL-1", on=date(2025, 1, 6))
    with Session(ingest.engine) as session:
        run_id = load_case(session, accepted.case_ref).flow_run_id
    assert run_id is not None
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
