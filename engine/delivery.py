"""The engine's side of delivery: register the instance's case deployment, execute a case run.

The outbox itself (create, resume, heal runs; cancel strays; take back a dead worker's runs) is
`tasks/outbox.py` and `tasks/run_repair.py`, the reconciler flow's plumbing, re-exported here
for the engine's callers.
Runs are executed in-process (`run_case_run`) by `cin worker` (engine/worker.py) and the demo,
because a process per resume costs seconds on a small machine; each execution holds the case's
lock in the case database (models/case_lock.py), so no case executes in two places at once.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Any, cast

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.deployments.runner import RunnerDeployment
from prefect.exceptions import Abort, ObjectAlreadyExists, Pause
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
from sqlalchemy import Engine
from sqlmodel import Session, select

from engine.executor import prepare_thread, run_in_process
from flows.case import CASE_FLOW_NAME, case_flow
from models.case_lock import case_lock
from models.instance import instance_id, instance_tag, work_queue_name
from models.tables import Case
from tasks.outbox import (
    CASE_FLOW,
    CASE_POOL,
    DeliveryReport,
    case_deployment_name,
    deliver_case,
    out_of_step_cases,
    pending_cases,
    remember_deployment,
)
from tasks.run_repair import deliver_pending, take_back_orphans

__all__ = [
    "DeliveryReport",
    "case_deployment_id",
    "deliver_case",
    "deliver_pending",
    "out_of_step_cases",
    "pending_cases",
    "run_case_run",
    "take_back_orphans",
]

assert CASE_FLOW == CASE_FLOW_NAME, "tasks/outbox.py must name the case flow as flows/case.py does"
log = logging.getLogger("cin.delivery")
WORKER_TYPE = "cin-case"
LOCK_PATIENCE = 2.0  # seconds a worker waits for a case lock that a reconciler probe holds
_registered: dict[tuple[str, str], uuid.UUID] = {}
_register_guard = threading.Lock()


def case_deployment_id(engine: Engine) -> uuid.UUID:
    """Register (or update) this instance's case deployment, once per Prefect API and process:
    on the case pool, on the instance's own work queue, tagged with the instance."""
    from prefect.settings import PREFECT_API_URL

    instance = instance_id(engine)
    where = (str(PREFECT_API_URL.value()), instance)
    with _register_guard:
        if where not in _registered:
            ensure_case_pool()
            deployment = cast(
                RunnerDeployment,
                case_flow.to_deployment(
                    name=case_deployment_name(instance),
                    tags=["cin", instance_tag(instance)],
                    work_queue_name=work_queue_name(instance),
                ),
            )
            _registered[where] = cast(uuid.UUID, deployment.apply(work_pool_name=CASE_POOL))
        remember_deployment(engine, _registered[where])
        return _registered[where]


def ensure_case_pool() -> None:
    from engine.worker import CaseWorker

    with get_client(sync_client=True) as client:
        try:
            client.create_work_pool(
                WorkPoolCreate(
                    name=CASE_POOL,
                    type=WORKER_TYPE,
                    base_job_template=CaseWorker.get_default_base_job_template(),
                    description="Case runs, executed in threads by `cin worker` processes",
                )
            )
        except ObjectAlreadyExists:
            pass


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
