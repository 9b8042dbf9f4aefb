"""The outbox's far side: get each accepted event to its case's flow run, exactly once.

An outbox row is written with the event, in the same transaction. Delivering it means: make sure
the case has a flow run (created from this instance's case deployment with an idempotency key of
(instance, case), so concurrent deliveries converge on one run), and if the run is suspended while
the case has events it has not handled, resume it. A row is marked delivered only once the run
has been resumed or created for it, or has already handled it; if Prefect is down, the row stays
and the reconciler tries again. The run itself reads the events from the database, so a late or
repeated delivery is harmless: nothing is applied twice.

This is the reconciler flow's plumbing, so it lives below `flows/`: it finds the case deployment
by name (`engine/delivery.py` registers it) and imports no flow. The rows it reads and writes are
`models/cases/outbox.py`; runs that lost their way are `tasks/run_repair.py`.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.client.schemas.responses import SetStateStatus
from prefect.exceptions import NotPausedError, ObjectNotFound, PrefectHTTPStatusError
from prefect.settings import PREFECT_API_URL
from prefect.states import Scheduled
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from models.cases.outbox import (
    due_cases,
    in_flight_among,
    mark_delivered,
    out_of_step_cases,
    pending_cases,
    record_failure,
    runs_in_flight,
    set_run_id,
    stuck_cases,
)
from models.instance import instance_id, instance_tag, run_idempotency_key
from models.settings import get_settings
from models.tables import Case, Outbox

log = logging.getLogger("cin.delivery")

CASE_FLOW = "cin-case"  # flows/case.py CASE_FLOW_NAME (tests/test_layout.py checks they agree)
CASE_POOL = "cin-cases"  # the work pool of `cin worker`s (engine/worker.py)
NOT_PAUSED = "not paused"  # Prefect's reason for refusing to resume a run that is not Paused
RUN_PAGE = 200  # runs read a request (the Prefect API's most)
# New runs the reconciler and `cin import` make while fewer than this many of the instance's
# runs are queued or working (engine default; a worker's own is a few a thread, engine/worker.py):
# the workers make the rest as their threads free
RUNS_AHEAD = 8


@dataclass
class DeliveryReport:
    delivered: int = 0
    resumed: int = 0
    healed: int = 0
    cancelled: int = 0
    failed: int = 0
    waiting: int = 0  # cases whose rows were just accepted, left to their accepter for now
    made: list[uuid.UUID] = field(default_factory=list)  # the cases whose runs were created
    run_ids: list[uuid.UUID] = field(default_factory=list)  # runs now waiting to be executed

    @property
    def created(self) -> int:
        return len(self.made)


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
        report.delivered += mark_delivered(engine, case.id, up_to=case.last_seq)
        return True
    try:
        run_id = _deliver(engine, case, report, optimistic=not check)
    except Exception as error:  # Prefect down or refusing: the outbox keeps the rows
        log.warning("delivery of case %s failed: %s: %s", case_ref, type(error).__name__, error)
        record_failure(engine, case.id, f"{type(error).__name__}: {error}")
        report.failed += 1
        return False
    if run_id is not None:
        report.run_ids.append(run_id)
    report.delivered += mark_delivered(engine, case.id, up_to=case.last_seq)
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
            report.made.append(case.id)
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
    set_run_id(engine, case.id, run.id)
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


def deliver_outbox(
    engine: Engine,
    limit: int = 500,
    out_of_step: bool = True,
    settle: bool = False,
    patient: bool = False,
    ahead: int | RunAllowance | None = None,
) -> DeliveryReport:
    """Deliver what the outbox holds and (`out_of_step`) bring out-of-step cases up to date,
    asking Prefect about each (no Prefect call when there is nothing to deliver: a worker does
    this on every poll, with `settle`: rows just accepted are left to their accepter, and
    `patient` unless it stops once idle: out-of-step cases whose runs are still working
    through their events are left to them).

    `ahead` (a worker's, the reconciler's and `cin import`'s passes): new runs are made only
    while fewer than that many runs are queued or working: of the instance's (a number), or of
    those one worker made itself (its `RunAllowance`), so the workers' queue holds about what
    their threads can take next and the outbox holds the rest; those left are counted
    `waiting`."""
    report = DeliveryReport()
    allowance = RunAllowance(engine, ahead) if isinstance(ahead, int) else ahead
    due = due_cases(engine, limit, settle, allowance)
    report.waiting = len(due.settling) + due.deferred
    for case_ref in due.cases:
        deliver_case(engine, case_ref, report)
    stuck, working = stuck_cases(engine, limit, patient) if out_of_step else ([], 0)
    report.waiting += working
    stuck = [ref for ref in stuck if ref not in due.cases and ref not in due.settling]
    for case_ref in _needing_a_look(engine, stuck, report):
        deliver_case(engine, case_ref, report, check=True)
    if allowance is not None:
        allowance.made(report.made)
    return report


class RunAllowance:
    """How many new runs a pass may make: `runs` less those queued or working. `own` (a `cin
    worker` process, which keeps one for its life): those it made itself, so every worker keeps
    about its threads' share queued, however many workers there are. Counted against the
    instance's total instead, the first worker's allowance was every worker's together (4 a
    thread: with five workers of two threads, 8 runs queued for 10 threads through a go-live).
    Without `own` (the reconciler and `cin import`, which make runs only while the workers'
    queue is short): the instance's total."""

    def __init__(self, engine: Engine, runs: int, *, own: bool = False) -> None:
        self.engine, self.runs = engine, runs
        self.mine: set[uuid.UUID] | None = set() if own else None

    def __call__(self) -> int:
        if self.mine is None:
            return max(0, self.runs - runs_in_flight(self.engine))
        self.mine &= in_flight_among(self.engine, self.mine)  # a run suspended or stuck is done
        return max(0, self.runs - len(self.mine))

    def made(self, case_ids: list[uuid.UUID]) -> None:
        if self.mine is not None:
            self.mine.update(case_ids)


def run_states(ids: list[uuid.UUID]) -> dict[uuid.UUID, StateType | None]:
    """The state of each of these runs the Prefect server knows, read a page at a time (a run
    it does not know is not in the answer)."""
    states: dict[uuid.UUID, StateType | None] = {}
    with get_client(sync_client=True) as client:
        for start in range(0, len(ids), RUN_PAGE):
            page = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    id=FlowRunFilterId(any_=ids[start : start + RUN_PAGE])
                ),
                limit=RUN_PAGE,
            )
            states.update((run.id, run.state.type if run.state else None) for run in page)
    return states


def _needing_a_look(engine: Engine, refs: list[str], report: DeliveryReport) -> list[str]:
    """The out-of-step cases whose runs need more than waiting, their runs read a page at a
    time: a run queued for a worker (Scheduled) is handed back as waiting to be executed, a
    claimed or running one is its worker's (or `take_back_orphans`'), as `_deliver` leaves
    them; the rest (suspended behind, ended, gone, never made) are delivered one by one.

    After a go-live import the workers' queue holds hundreds of new runs, each out of step
    until a thread reaches it: one read of the run per queued case, per worker, every
    housekeeping pass made the pass's requests grow with the backlog (bench/scale_bench.py:
    501 ms a case until suspended at 1,000 cases against 277 ms at 200)."""
    if not refs:
        return []
    with Session(engine) as session:
        runs = dict(
            session.exec(
                select(Case.case_ref, Case.flow_run_id).where(col(Case.case_ref).in_(refs))
            ).all()
        )
    try:
        states = run_states([run_id for run_id in runs.values() if run_id is not None])
    except Exception as error:  # Prefect down: each case is tried, and its failure kept, as before
        log.warning("reading the out-of-step runs failed (%s)", type(error).__name__)
        return refs
    look: list[str] = []
    for ref in refs:
        run_id = runs.get(ref)
        state = states.get(run_id) if run_id is not None else None
        if run_id is not None and state is StateType.SCHEDULED:
            report.run_ids.append(run_id)
        elif run_id is None or state not in (StateType.PENDING, StateType.RUNNING):
            look.append(ref)
    return look


# re-exported: the engine's callers use them here
__all__ = ["out_of_step_cases", "pending_cases", "runs_in_flight"]
