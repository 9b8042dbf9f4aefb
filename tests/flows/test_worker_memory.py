"""A `cin worker` keeps one Prefect client a thread, whatever number of polls and wake-ups it
handles: its memory grew by a client, its connection pool and a settings copy on every poll
(docs/performance.md: bench/worker_memory.py).

The worker's two paths are driven here as `serve_worker` drives them, on a real Prefect server:
the outbox pass through `anyio.to_thread.run_sync` (a fresh copy of the event loop's context
each call), and wake-ups executed by `run_case_run` in a pool thread of the worker's own.
"""

from __future__ import annotations

import asyncio
import gc
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

import anyio
from prefect.client.orchestration import SyncPrefectClient, get_client
from sqlalchemy import Engine
from sqlmodel import Session, select

from engine.delivery import run_case_run
from engine.ingest import Ingest
from engine.worker import _outbox_pass, case_deployment_id
from models.tables import Case
from tasks.prefect_internals import FlowRunEngine, suspension_requests_open

POLLS = 15
WAKE_UPS = 5


def live(kind: type) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, kind))


def poll(engine: Engine) -> tuple[int, int]:
    """One poll's outbox pass; the thread it ran in and the client it was handed there."""
    _outbox_pass(engine, False)
    return threading.get_ident(), id(get_client(sync_client=True))


def test_polls_and_wake_ups_keep_one_client_a_thread(prefect_server: Any, case_db: str) -> None:
    ingest = Ingest.from_settings(deliver=False)
    engine = ingest.engine
    case_deployment_id(engine)
    ref = ingest.refer(authority="redbridge", child_ref="MEM1", on=date(2025, 3, 3)).case_ref
    pool = ThreadPoolExecutor(1, thread_name_prefix="cin-case")  # as CaseWorker.threads

    def run_id() -> Any:
        with Session(engine) as session:
            return session.exec(select(Case.flow_run_id).where(Case.case_ref == ref)).one()

    async def wake_up() -> None:
        """As a poll that finds the case's event: deliver it, then execute the run."""
        seen.add(await anyio.to_thread.run_sync(poll, engine))
        await asyncio.wrap_future(pool.submit(run_case_run, engine, run_id()))

    async def polls() -> None:
        for _ in range(POLLS):
            seen.add(await anyio.to_thread.run_sync(poll, engine))

    async def worker_life() -> None:
        await wake_up()  # the case's run is created and executed to its first suspension
        counted["warm"] = live(SyncPrefectClient)
        await polls()
        counted["idle"] = live(SyncPrefectClient)
        day = date(2025, 3, 4)
        for _ in range(WAKE_UPS):
            ingest.record(ref, {"type": "visit_recorded", "on": day.isoformat()})
            day += timedelta(days=3)
            await wake_up()
        await polls()
        counted["busy"] = live(SyncPrefectClient)

    seen: set[tuple[int, int]] = set()
    counted: dict[str, int] = {}
    try:
        anyio.run(worker_life)
    finally:
        pool.shutdown(wait=True)
    with Session(engine) as session:
        case = session.exec(select(Case).where(Case.case_ref == ref)).one()
    assert case.flow_seq == case.last_seq == WAKE_UPS + 1  # every wake-up did its work

    threads = {thread for thread, _ in seen}
    # before the fix: one more client alive after each of the polls (15, then 5 + 15 more)
    assert counted["idle"] <= counted["warm"] + len(threads), counted
    assert counted["busy"] <= counted["warm"] + len(threads), counted
    assert len(seen) == len(threads), f"a thread was handed {len(seen)} clients in turn"
    assert live(FlowRunEngine) == 0  # no run's engine outlives its wake-up
    assert suspension_requests_open() == 0  # nor its suspension request
