"""The outbox's far side: get each accepted event to its case's flow run, exactly once.

An outbox row is written with the event, in the same transaction. Delivering it means: make sure
the case has a flow run (create it from the case deployment, named after the case reference),
and if the run is suspended while the case has events it has not handled, resume it. A row is
marked delivered only once the run has been resumed or created for it, or has already handled
it; if Prefect is down, the row stays and the reconciler tries again. The run itself reads the
events from the database, so a late or repeated delivery is harmless: nothing is applied twice.

Runs are executed in-process (`run_case_run`) by `cin worker` and the demo, because a process
per resume costs seconds on a small machine; `cin serve` can instead leave them to a Prefect
runner. Both use the same deployment.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import cast

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.client.schemas.sorting import FlowRunSort
from prefect.deployments.runner import RunnerDeployment
from prefect.exceptions import ObjectNotFound, Pause
from prefect.flow_runs import resume_flow_run
from prefect.settings import (
    PREFECT_API_URL,
    PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
    temporary_settings,
)
from prefect.states import Scheduled
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from engine.executor import quiet_thread_settings, run_in_process
from flows.case import case_flow
from models.tables import Case, Outbox, utcnow

log = logging.getLogger("cin.delivery")

CASE_DEPLOYMENT = "case"
# per thread: the Prefect API this thread's shared client and quiet settings were made for
_quiet_settings: contextvars.ContextVar[str] = contextvars.ContextVar("cin_quiet", default="")
# A run left Running this long by a process that is gone is taken back (see `heal`).
ORPHAN_AFTER = timedelta(minutes=2)
RETRY_BACKOFF = (5, 15, 60, 300)  # seconds between delivery attempts while Prefect is down


@dataclass
class DeliveryReport:
    delivered: int = 0
    created: int = 0
    resumed: int = 0
    healed: int = 0
    failed: int = 0
    run_ids: list[uuid.UUID] = field(default_factory=list)  # runs now waiting to be executed


def case_deployment_id() -> uuid.UUID:
    """Register (or update) the case deployment, once per Prefect API; suspension needs one."""
    return _case_deployment_id(str(PREFECT_API_URL.value()))


@lru_cache(maxsize=8)
def _case_deployment_id(api_url: str) -> uuid.UUID:
    deployment = cast(RunnerDeployment, case_flow.to_deployment(name=CASE_DEPLOYMENT, tags=["cin"]))
    return cast(uuid.UUID, deployment.apply())


def _prepare_thread() -> None:
    # Only the worker's own pool threads keep these contexts for life; the main thread (a CLI
    # command, a test, the demo's driver) must not carry a client past the settings it was made
    # under. Keyed by the API URL in force, so a thread that changes servers gets a new client.
    if threading.current_thread() is threading.main_thread():
        return
    api_url = str(PREFECT_API_URL.value())
    if _quiet_settings.get("") != api_url:
        quiet_thread_settings()
        _quiet_settings.set(api_url)


def deliver_case(engine: Engine, case_ref: str, report: DeliveryReport | None = None) -> bool:
    """Bring the case's run up to date with its log; False if Prefect could not be reached."""
    report = report or DeliveryReport()
    with Session(engine) as session:
        case = session.exec(select(Case).where(Case.case_ref == case_ref)).one()
    try:
        _prepare_thread()
        run_id = _deliver(engine, case, report)
    except Exception as error:  # Prefect down or refusing: the outbox keeps the rows
        log.warning("delivery of case %s failed: %s: %s", case_ref, type(error).__name__, error)
        _record_failure(engine, case.id, f"{type(error).__name__}: {error}")
        report.failed += 1
        return False
    if run_id is not None:
        report.run_ids.append(run_id)
    report.delivered += _mark_delivered(engine, case.id, up_to=case.last_seq)
    return True


def _deliver(engine: Engine, case: Case, report: DeliveryReport) -> uuid.UUID | None:
    """Create, resume or heal the case's run; the run id if it now needs executing."""
    with get_client(sync_client=True) as client:
        run = _read_run(client, case.flow_run_id)
        if run is None:
            run = client.create_flow_run_from_deployment(
                case_deployment_id(),
                parameters={"case_ref": case.case_ref},
                name=case.case_ref,
                tags=[f"authority:{case.authority}", f"team:{case.team or 'unallocated'}"],
            )
            _set_run_id(engine, case.id, run.id)
            report.created += 1
            return run.id
        state = run.state.type if run.state else None
        if state is StateType.PAUSED:
            if case.flow_seq < case.last_seq:
                try:
                    resume_flow_run(run.id, run_input={"seq": case.last_seq})
                    report.resumed += 1
                except RuntimeError as refusal:
                    # Refused, e.g. "Run input schema not found": the server went down between
                    # the run's suspension and saving its input schema. The run reads its
                    # events from the database, so starting it again from the top is safe.
                    log.warning("resume of %s refused (%s); rescheduling", case.case_ref, refusal)
                    client.set_flow_run_state(
                        run.id, Scheduled(message="rescheduled: resume refused"), force=True
                    )
                    report.healed += 1
                return run.id
            return None
        if state in (StateType.SCHEDULED, StateType.PENDING):
            return run.id
        if state is StateType.COMPLETED:
            return None
        if state is StateType.RUNNING and not _orphaned(run):
            return None  # it is working; it reads the newest events before it suspends again
        # Crashed, failed, cancelled, or Running with nobody behind it: the database holds the
        # truth, so start the run again from the top; it skips what it already handled.
        client.set_flow_run_state(run.id, Scheduled(message="rescheduled by cin"), force=True)
        report.healed += 1
        return run.id


def _read_run(client: object, run_id: uuid.UUID | None) -> FlowRun | None:
    if run_id is None:
        return None
    try:
        return client.read_flow_run(run_id)  # type: ignore[attr-defined,no-any-return]
    except ObjectNotFound:
        return None  # the Prefect database was reset: make a new run


def _orphaned(run: FlowRun) -> bool:
    since = run.state.timestamp if run.state else None
    return since is None or datetime.now(UTC) - since > ORPHAN_AFTER


def run_case_run(run_id: uuid.UUID) -> str:
    """Execute a scheduled case run in this process until it suspends or ends."""
    _prepare_thread()
    with get_client(sync_client=True) as client:
        # always the newest copy: a stale FlowRun writes back old suspend keys (DESIGN.md)
        run = client.read_flow_run(run_id)
    if run.state is None or run.state.type not in (StateType.SCHEDULED, StateType.PENDING):
        return str(run.state.name) if run.state else "unknown"
    try:
        if threading.current_thread() is threading.main_thread():
            with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
                state = run_in_process(case_flow, run)
        else:
            state = run_in_process(case_flow, run)
        return str(getattr(state, "name", "done"))
    except Pause:
        return "Suspended"


def reschedule_if_running(run_id: uuid.UUID, why: str = "taken back after a crash") -> bool:
    """A run left Running by an executor that is gone starts again from the top (it skips the
    events it already handled)."""
    with get_client(sync_client=True) as client:
        run = _read_run(client, run_id)
        if run and run.state and run.state.type is StateType.RUNNING:
            client.set_flow_run_state(run.id, Scheduled(message=why), force=True)
            return True
    return False


def take_back_running_runs(engine: Engine) -> int:
    """At a worker's start: runs it left Running when it died are rescheduled.

    This assumes one worker per case database (the deployment this project documents); with
    several, a run another live worker is executing would be started twice, harmlessly (the work
    is keyed by sequence number) but wastefully.
    """
    with Session(engine) as session:
        run_ids = [
            r for r in session.exec(select(Case.flow_run_id).where(Case.stage != "closed")) if r
        ]
    return sum(reschedule_if_running(run_id) for run_id in run_ids)


def pending_cases(engine: Engine, limit: int = 500) -> list[str]:
    """Cases with outbox rows due for a delivery attempt, oldest first."""
    now = utcnow()
    with Session(engine) as session:
        rows = session.exec(
            select(Case.case_ref, Outbox.created_at)
            .join(Case, col(Case.id) == col(Outbox.case_id))
            .where(col(Outbox.delivered_at).is_(None), Outbox.next_attempt_at <= now)
            .order_by(col(Outbox.created_at))
            .limit(limit * 20)
        ).all()
    seen: dict[str, None] = {}
    for case_ref, _ in rows:
        seen.setdefault(case_ref, None)
    return list(seen)[:limit]


def out_of_step_cases(engine: Engine, limit: int = 500) -> list[str]:
    """Open cases whose run has not handled every event (a lost resume, a crash)."""
    with Session(engine) as session:
        return list(
            session.exec(
                select(Case.case_ref).where(col(Case.flow_seq) < col(Case.last_seq)).limit(limit)
            )
        )


def deliver_pending(engine: Engine, limit: int = 500) -> DeliveryReport:
    report = DeliveryReport()
    for case_ref in dict.fromkeys(pending_cases(engine, limit) + out_of_step_cases(engine, limit)):
        deliver_case(engine, case_ref, report)
    report.healed += take_back_orphans()
    return report


def take_back_orphans(limit: int = 200) -> int:
    """Case runs Running for longer than ORPHAN_AFTER with nobody behind them (their executor
    died, and their case has no new event that would bring `_deliver` to them)."""
    _prepare_thread()
    cutoff = datetime.now(UTC) - ORPHAN_AFTER
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.RUNNING]))
            ),
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[case_deployment_id()])),
            sort=FlowRunSort.EXPECTED_START_TIME_ASC,
            limit=limit,
        )
    stale = [r for r in runs if r.state and r.state.timestamp and r.state.timestamp < cutoff]
    return sum(reschedule_if_running(r.id, "taken back: Running with no executor") for r in stale)


def _mark_delivered(engine: Engine, case_id: uuid.UUID, up_to: int) -> int:
    with Session(engine) as session:
        result = session.exec(
            update(Outbox)
            .where(
                col(Outbox.case_id) == case_id,
                col(Outbox.seq) <= up_to,
                col(Outbox.delivered_at).is_(None),
            )
            .values(delivered_at=utcnow())
        )
        session.commit()
        return int(result.rowcount or 0)


def _record_failure(engine: Engine, case_id: uuid.UUID, error: str) -> None:
    with Session(engine) as session:
        for row in session.exec(
            select(Outbox).where(Outbox.case_id == case_id, col(Outbox.delivered_at).is_(None))
        ):
            row.attempts += 1
            wait = RETRY_BACKOFF[min(row.attempts, len(RETRY_BACKOFF)) - 1]
            row.next_attempt_at = utcnow() + timedelta(seconds=wait)
            row.last_error = error[:500]
            session.add(row)
        session.commit()


def _set_run_id(engine: Engine, case_id: uuid.UUID, run_id: uuid.UUID) -> None:
    with Session(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None
        case.flow_run_id = run_id
        session.add(case)
        session.commit()
