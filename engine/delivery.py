"""The engine's side of delivery: execute a case run. It never imports the worker type
(engine/worker.py imports it, and registers the case pool and deployment the runs belong to).

The outbox itself (create, resume, heal runs; cancel strays; take back a dead worker's runs) is
`tasks/outbox.py` and `tasks/run_repair.py`, the reconciler flow's plumbing, re-exported here
for the engine's callers.
Runs are executed in-process (`run_case_run`) by `cin worker` (engine/worker.py) and the demo,
because a process per resume costs seconds on a small machine; each execution holds the case's
lock in the case database (models/cases/lock.py), so no case executes in two places at once.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any

from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.exceptions import Abort, Pause
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from sqlalchemy import Engine
from sqlmodel import Session, select

from engine.executor import prepare_thread, run_in_process
from flows.case import CASE_FLOW_NAME, case_flow
from models.cases.lock import case_lock
from models.tables import Case
from tasks.outbox import (
    CASE_FLOW,
    RUNS_AHEAD,
    DeliveryReport,
    RunAllowance,
    deliver_case,
    out_of_step_cases,
    pending_cases,
)
from tasks.run_repair import deliver_pending, take_back_orphans

__all__ = [
    "RUNS_AHEAD",
    "DeliveryReport",
    "RunAllowance",
    "deliver_case",
    "deliver_pending",
    "out_of_step_cases",
    "pending_cases",
    "run_case_run",
    "take_back_orphans",
]

assert CASE_FLOW == CASE_FLOW_NAME, "tasks/outbox.py must name the case flow as flows/case.py does"
log = logging.getLogger("cin.delivery")
LOCK_PATIENCE = 2.0  # seconds a worker waits for a case lock that a reconciler probe holds


def run_case_run(engine: Engine, run_id: uuid.UUID, claimed: FlowRun | None = None) -> str:
    """Execute a claimed case run in this process until it suspends or ends, holding its case's
    lock throughout; a run whose case another executor holds is left to it. `claimed`: the run
    as the worker was handed it (its parameters never change; its state is read again under the
    lock)."""
    prepare_thread()
    if claimed is None or claimed.id != run_id:
        with get_client(sync_client=True) as client:
            claimed = client.read_flow_run(run_id)
    case_ref = str(claimed.parameters.get("case_ref", ""))
    with Session(engine) as session:
        case = session.exec(select(Case).where(Case.case_ref == case_ref)).first()
    if case is None:
        return "unknown case"
    with _patient_lock(engine, case.id) as held:
        if not held:
            log.info("case %s executes elsewhere; run %s left to it", case_ref, run_id)
            return "locked elsewhere"
        with get_client(sync_client=True) as client:
            # always the newest copy, read under the lock: a stale FlowRun writes back old
            # suspend keys (DESIGN.md), and the run may have moved on since it was claimed
            run = client.read_flow_run(run_id)
        if run.state is None or run.state.type not in (StateType.SCHEDULED, StateType.PENDING):
            return str(run.state.name) if run.state else "unknown"
        return _execute(run)


def _execute(run: Any) -> str:
    try:
        if threading.current_thread() is threading.main_thread():
            with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
                state = run_in_process(case_flow, run)
        else:
            state = run_in_process(case_flow, run)
        return str(getattr(state, "name", "done"))
    except Pause:
        return "Suspended"
    except Abort as refused:  # the orchestrator refused Running: the run moved on meanwhile
        log.info("run %s not started: %s", run.id, refused)
        return "Aborted"


class _patient_lock:
    """The case lock, waited for briefly: a reconciler's probe holds it for a moment."""

    def __init__(self, engine: Engine, case_id: uuid.UUID) -> None:
        self.engine, self.case_id = engine, case_id
        self._context: Any = None

    def __enter__(self) -> bool:
        deadline = time.monotonic() + LOCK_PATIENCE
        while True:
            self._context = case_lock(self.engine, self.case_id)
            if self._context.__enter__():
                return True
            self._context.__exit__(None, None, None)
            self._context = None
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)

    def __exit__(self, *exc: object) -> None:
        if self._context is not None:
            self._context.__exit__(*exc)
