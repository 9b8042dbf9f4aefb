"""The outbox's far side: get each accepted event to its case's flow run, exactly once.

An outbox row is written with the event, in the same transaction. Delivering it means: make sure
the case has a flow run (created from this instance's case deployment with an idempotency key of
(instance, case), so concurrent deliveries converge on one run), and if the run is suspended while
the case has events it has not handled, resume it. A row is marked delivered only once the run
has been resumed or created for it, or has already handled it; if Prefect is down, the row stays
and the reconciler tries again. The run itself reads the events from the database, so a late or
repeated delivery is harmless: nothing is applied twice.

This is the reconciler flow's plumbing, so it lives below `flows/`: it finds the case deployment
by name (`engine/delivery.py` registers it) and imports no flow.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterExpectedStartTime,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.client.schemas.responses import SetStateStatus
from prefect.client.schemas.sorting import FlowRunSort
from prefect.exceptions import NotPausedError, ObjectNotFound, PrefectHTTPStatusError
from prefect.settings import PREFECT_API_URL
from prefect.states import Cancelled, Scheduled
from prefect.types._datetime import DateTime, now
from sqlalchemy import Engine, and_, or_, update
from sqlmodel import Session, col, select

from models.case_lock import case_lock
from models.instance import instance_id, instance_tag, run_idempotency_key
from models.settings import get_settings
from models.tables import Case, Outbox, utcnow

log = logging.getLogger("cin.delivery")

CASE_FLOW = "cin-case"  # flows/case.py CASE_FLOW_NAME (tests/test_layout.py checks they agree)
CASE_POOL = "cin-cases"  # the work pool of `cin worker`s (engine/worker.py)
# A run claimed (Pending) this long ago whose case lock is free lost its worker.
PENDING_GRACE = timedelta(seconds=30)
STRAY_WINDOW = timedelta(minutes=15)  # how far back the reconciler looks for stray runs
NOT_PAUSED = "not paused"  # Prefect's reason for refusing to resume a run that is not Paused
# a worker's poll leaves a row this young to the process that accepted it (`pending_cases`)
SETTLING = timedelta(seconds=2)
# an out-of-step case whose next event was delivered this long ago has lost its run's attention
STUCK = timedelta(seconds=15)
RETRY_BACKOFF = (5, 15, 60, 300)  # seconds between delivery attempts while Prefect is down


@dataclass
class DeliveryReport:
    delivered: int = 0
    created: int = 0
    resumed: int = 0
    healed: int = 0
    cancelled: int = 0
    failed: int = 0
    waiting: int = 0  # cases whose rows were just accepted, left to their accepter for now
    run_ids: list[uuid.UUID] = field(default_factory=list)  # runs now waiting to be executed


def case_deployment_name(instance: str) -> str:
    """Each instance has a case deployment of its own, on its own work queue."""
    return f"case-{instance}"


_known: dict[tuple[str, str], uuid.UUID] = {}  # (API URL, instance) -> case deployment id


def remember_deployment(engine: Engine, deployment_id: uuid.UUID) -> None:
    """The engine registered this instance's case deployment (engine/delivery.py)."""
    _known[(str(PREFECT_API_URL.value()), instance_id(engine))] = deployment_id


def _deployment(engine: Engine) -> tuple[str, uuid.UUID]:
    """This instance's id and its case deployment, looked up by name once per API."""
    instance = instance_id(engine)
    where = (str(PREFECT_API_URL.value()), instance)
    if where not in _known:
        with get_client(sync_client=True) as client:
            try:
                deployment = client.read_deployment_by_name(
                    f"{CASE_FLOW}/{case_deployment_name(instance)}"
                )
            except ObjectNotFound:
                raise RuntimeError(
                    "the case deployment is not registered on this Prefect server yet: start "
                    "`cin worker` (or `cin serve`)"
                ) from None
        _known[where] = deployment.id
    return instance, _known[where]


def deliver_case(
    engine: Engine, case_ref: str, report: DeliveryReport | None = None, *, check: bool = False
) -> bool:
    """Bring the case's run up to date with its log; False if Prefect could not be reached.

    A case whose run was woken (or found awake) for an event it has not handled yet needs no
    Prefect call: the run reads every event accepted before it suspends, and one accepted after
    that it wakes itself for (flows/case.py). A run that died meanwhile is found by the
    out-of-step pass (`check=True`: always ask Prefect) and by `take_back_orphans`."""
    report = report or DeliveryReport()
    with Session(engine) as session:
        case = session.exec(select(Case).where(Case.case_ref == case_ref)).one()
        awake = (
            not check
            and case.flow_run_id is not None
            and session.exec(
                select(Outbox.seq).where(
                    Outbox.case_id == case.id,
                    col(Outbox.seq) > case.flow_seq,
                    col(Outbox.delivered_at).is_not(None),
                )
            ).first()
            is not None
        )
    if awake:
        report.delivered += _mark_delivered(engine, case.id, up_to=case.last_seq)
        return True
    try:
        run_id = _deliver(engine, case, report, optimistic=not check)
    except Exception as error:  # Prefect down or refusing: the outbox keeps the rows
        log.warning("delivery of case %s failed: %s: %s", case_ref, type(error).__name__, error)
        _record_failure(engine, case.id, f"{type(error).__name__}: {error}")
        report.failed += 1
        return False
    if run_id is not None:
        report.run_ids.append(run_id)
    report.delivered += _mark_delivered(engine, case.id, up_to=case.last_seq)
    return True


def _deliver(
    engine: Engine, case: Case, report: DeliveryReport, optimistic: bool = True
) -> uuid.UUID | None:
    """Create, resume or heal the case's run; the run id if it now needs executing."""
    with get_client(sync_client=True) as client:
        if optimistic and case.flow_run_id is not None and case.flow_seq < case.last_seq:
            # the usual case, a run suspended until this event: resume it without reading it
            # first; anything else (not paused, refused, gone) is looked at below
            try:
                result = client.resume_flow_run(case.flow_run_id)
                if result.status is SetStateStatus.ACCEPT:
                    report.resumed += 1
                    return case.flow_run_id
                if result.status is SetStateStatus.ABORT and NOT_PAUSED in str(
                    getattr(result.details, "reason", "")
                ):
                    # not paused: awake (it reads this event before it suspends again: it
                    # looks once more after suspending) or ended, which leaves the case out of
                    # step for the worker's next out-of-step pass to heal; no read of the run
                    # (one a wake-up, on the Prefect server, when events come in quick succession)
                    return None
            except ObjectNotFound:
                pass
        run = _read_run(client, case.flow_run_id)
        if run is None:
            run = _create_run(engine, client, case)
            report.created += 1
            if run.state is None or run.state.type is StateType.SCHEDULED:
                return run.id
        state = run.state.type if run.state else None
        if state is StateType.PAUSED:
            if case.flow_seq < case.last_seq:
                try:
                    _resume(client, run.id)
                    report.resumed += 1
                except (NotPausedError, PrefectHTTPStatusError) as raced:
                    if isinstance(raced, PrefectHTTPStatusError) and (
                        raced.response.status_code != 409
                    ):
                        raise
                    # another delivery woke it first; if the run misses this event, the case
                    # stays out of step and the next pass wakes it again
                    return None
                except RuntimeError as refusal:
                    # Refused, e.g. a run suspended by an engine before issue 9 that waits for
                    # run input this resume does not send. The run reads its events from the
                    # database, so starting it again from the top is safe.
                    log.warning("resume of %s refused (%s); rescheduling", case.case_ref, refusal)
                    client.set_flow_run_state(
                        run.id, Scheduled(message="rescheduled: resume refused"), force=True
                    )
                    report.healed += 1
                return run.id
            return None
        if state in (StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING):
            # waiting for a worker, or being worked on: it reads the newest events before it
            # suspends again. A Running run whose worker died is recovered by `take_back_orphans`.
            return run.id if state is StateType.SCHEDULED else None
        if state is StateType.COMPLETED:
            return None
        # Crashed, failed or cancelled: the database holds the truth, so start the run again
        # from the top; it skips what it already handled.
        client.set_flow_run_state(run.id, Scheduled(message="rescheduled by cin"), force=True)
        report.healed += 1
        return run.id


def _resume(client: SyncPrefectClient, run_id: uuid.UUID) -> None:
    """`prefect.flow_runs.resume_flow_run` without its read of the run (just read here). No run
    input: the run reads its events from the case database, so a resume carries nothing, and
    the server has no input schema to look up and validate."""
    response = client.resume_flow_run(run_id)
    if response.status is SetStateStatus.ABORT:
        raise NotPausedError(f"cannot resume: {getattr(response.details, 'reason', '')}")
    if response.status is SetStateStatus.REJECT:
        raise RuntimeError(f"Cannot resume this run: {getattr(response.details, 'reason', '')}")


def _create_run(engine: Engine, client: SyncPrefectClient, case: Case) -> FlowRun:
    instance, deployment_id = _deployment(engine)
    keyed = get_settings().run_idempotency  # off only to show what it prevents (tests)
    run = client.create_flow_run_from_deployment(
        deployment_id,
        parameters={"case_ref": case.case_ref},
        name=case.case_ref,
        tags=[
            instance_tag(instance),
            f"authority:{case.authority}",
            f"team:{case.team or 'unallocated'}",
        ],
        idempotency_key=run_idempotency_key(instance, case.case_ref) if keyed else None,
    )
    _set_run_id(engine, case.id, run.id)
    return run


def _read_run(client: SyncPrefectClient, run_id: uuid.UUID | None) -> FlowRun | None:
    if run_id is None:
        return None
    try:
        return client.read_flow_run(run_id)
    except ObjectNotFound:
        return None  # the Prefect database was reset: make a new run


def reschedule(client: SyncPrefectClient, run_id: uuid.UUID, why: str) -> None:
    client.set_flow_run_state(run_id, Scheduled(message=why), force=True)


def pending_cases(engine: Engine, limit: int = 500) -> list[str]:
    """Cases with outbox rows due for a delivery attempt, oldest first."""
    return _due_cases(engine, limit, settle=False)[0]


def _due_cases(engine: Engine, limit: int, settle: bool) -> tuple[list[str], set[str]]:
    """`pending_cases`; with `settle` (a worker's poll), a case whose oldest row was accepted
    less than `SETTLING` ago is set apart, left to the process that accepted it, which delivers
    it a moment later (`Ingest.record`): a poll that delivered it too raced that delivery (a
    resume refused, a read of the run) on every busy case."""
    now = utcnow()
    with Session(engine) as session:
        rows = session.exec(
            select(Case.case_ref, Outbox.created_at)
            .join(Case, col(Case.id) == col(Outbox.case_id))
            .where(col(Outbox.delivered_at).is_(None), Outbox.next_attempt_at <= now)
            .order_by(col(Outbox.created_at))
            .limit(limit * 20)
        ).all()
    due: dict[str, None] = {}
    settling: set[str] = set()
    for case_ref, created_at in rows:
        if case_ref in due or case_ref in settling:
            continue
        if settle and _utc(created_at) > now - SETTLING:
            settling.add(case_ref)  # its later rows wait with it
        else:
            due[case_ref] = None
    return list(due)[:limit], settling


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def out_of_step_cases(engine: Engine, limit: int = 500) -> list[str]:
    """Open cases whose run has not handled every event (a lost resume, a crash)."""
    return _out_of_step(engine, limit, patient=False)[0]


def _out_of_step(engine: Engine, limit: int, patient: bool) -> tuple[list[str], int]:
    """`out_of_step_cases`; `patient` (a serving worker's housekeeping): only those whose next
    unhandled event was delivered `STUCK` ago or more, with the number left out: a case whose
    run is working through its events is out of step too, and asking Prefect about each of
    them every housekeeping pass was a read of the run per case, per worker, every 10 s."""
    with Session(engine) as session:
        behind = select(Case.case_ref).where(col(Case.flow_seq) < col(Case.last_seq))
        if not patient:
            return list(session.exec(behind.limit(limit))), 0
        next_row = and_(col(Outbox.case_id) == col(Case.id), col(Outbox.seq) == Case.flow_seq + 1)
        stuck = or_(
            col(Outbox.seq).is_(None),  # no outbox row for it: nothing to tell progress by
            col(Outbox.delivered_at).is_(None),
            col(Outbox.delivered_at) < utcnow() - STUCK,
        )
        rows = session.exec(
            select(Case.case_ref, stuck)
            .outerjoin(Outbox, next_row)
            .where(col(Case.flow_seq) < col(Case.last_seq))
        ).all()
    return [ref for ref, is_stuck in rows if is_stuck][:limit], sum(not s for _, s in rows)


def deliver_outbox(
    engine: Engine,
    limit: int = 500,
    out_of_step: bool = True,
    settle: bool = False,
    patient: bool = False,
) -> DeliveryReport:
    """Deliver what the outbox holds and (`out_of_step`) bring out-of-step cases up to date,
    asking Prefect about each (no Prefect call when there is nothing to deliver: a worker does
    this on every poll, with `settle`: rows just accepted are left to their accepter, and
    `patient` unless it stops once idle: out-of-step cases whose runs are still working
    through their events are left to them)."""
    report = DeliveryReport()
    pending, settling = _due_cases(engine, limit, settle)
    report.waiting = len(settling)
    for case_ref in pending:
        deliver_case(engine, case_ref, report)
    stuck, working = _out_of_step(engine, limit, patient) if out_of_step else ([], 0)
    report.waiting += working
    for case_ref in stuck:
        if case_ref not in pending and case_ref not in settling:
            deliver_case(engine, case_ref, report, check=True)
    return report


def deliver_pending(engine: Engine, limit: int = 500) -> DeliveryReport:
    """The reconciler's pass: the outbox, then runs whose worker died, then stray runs."""
    report = deliver_outbox(engine, limit)
    housekeeping(engine, report)
    return report


def housekeeping(engine: Engine, report: DeliveryReport) -> None:
    report.healed += take_back_orphans(engine)
    report.cancelled += cancel_strays(engine)


def _instance_runs(
    engine: Engine, states: list[StateType], since: DateTime | None = None, limit: int = 200
) -> list[FlowRun]:
    _, deployment_id = _deployment(engine)
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=states)),
                expected_start_time=(
                    FlowRunFilterExpectedStartTime(after_=since) if since else None
                ),
            ),
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
            sort=FlowRunSort.EXPECTED_START_TIME_ASC,
            limit=limit,
        )


def take_back_orphans(engine: Engine, limit: int = 200) -> int:
    """Runs whose worker died: Running, or claimed (Pending) for a while, with the case's lock
    free. The lock is held for as long as a worker executes the case and dies with the worker,
    so it is the lease; it is held here while the run is re-read, so no worker starts the case
    in between. Other workers carry on meanwhile."""
    runs = _instance_runs(engine, [StateType.RUNNING, StateType.PENDING], limit=limit)
    taken = 0
    for run in runs:
        case_ref = str(run.parameters.get("case_ref", ""))
        with Session(engine) as session:
            case = session.exec(select(Case).where(Case.case_ref == case_ref)).first()
        if case is None:
            continue
        with case_lock(engine, case.id) as held:
            if not held:
                continue  # a live worker has it
            with get_client(sync_client=True) as client:
                fresh = _read_run(client, run.id)
                if fresh is None or fresh.state is None:
                    continue
                since = fresh.state.timestamp or datetime.now(UTC)
                running = fresh.state.type is StateType.RUNNING
                stale_claim = fresh.state.type is StateType.PENDING and (
                    datetime.now(UTC) - since > PENDING_GRACE
                )
                if running or stale_claim:
                    reschedule(client, fresh.id, "taken back: its worker is gone")
                    log.warning("case %s: run taken back from a worker that is gone", case_ref)
                    taken += 1
    return taken


def cancel_strays(engine: Engine) -> int:
    """Cancel runs of this instance's case deployment that are not their case's run (a second
    run made for one case: only possible if runs were made without the idempotency key)."""
    active = [StateType.SCHEDULED, StateType.PENDING, StateType.RUNNING, StateType.PAUSED]
    since = cast(DateTime, now("UTC") - STRAY_WINDOW)
    runs = _instance_runs(engine, active, since=since, limit=200)  # the API's maximum
    refs = {str(r.parameters.get("case_ref", "")) for r in runs}
    with Session(engine) as session:
        owner: dict[str, Any] = dict(
            session.exec(
                select(Case.case_ref, Case.flow_run_id).where(col(Case.case_ref).in_(refs))
            ).all()
        )
    cancelled = 0
    with get_client(sync_client=True) as client:
        for run in runs:
            case_ref = str(run.parameters.get("case_ref", ""))
            if case_ref in owner and owner[case_ref] not in (None, run.id):
                client.set_flow_run_state(
                    run.id,
                    Cancelled(message=f"stray run: case {case_ref} runs as {owner[case_ref]}"),
                    force=True,
                )
                log.warning("case %s: stray run %s cancelled", case_ref, run.id)
                cancelled += 1
    return cancelled


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
