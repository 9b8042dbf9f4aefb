"""Runs that lost their way: taken back from a worker that died, or cancelled as strays. The
reconciler's pass (`deliver_pending`) and a worker's housekeeping (engine/worker.py) do this
after delivering the outbox (`tasks/outbox.py`)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterExpectedStartTime,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.client.schemas.sorting import FlowRunSort
from prefect.states import Cancelled
from prefect.types import DateTime
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from models.cases.lock import case_lock
from models.tables import Case
from tasks.outbox import (
    RUNS_AHEAD,
    DeliveryReport,
    _deployment,
    _read_run,
    deliver_outbox,
    reschedule,
)

log = logging.getLogger("cin.delivery")

# A run claimed (Pending) this long ago whose case lock is free lost its worker.
PENDING_GRACE = timedelta(seconds=30)
STRAY_WINDOW = timedelta(minutes=15)  # how far back the reconciler looks for stray runs


def deliver_pending(engine: Engine, limit: int = 500) -> DeliveryReport:
    """The reconciler's pass: the outbox, then runs whose worker died, then stray runs. New
    runs are made only up to `RUNS_AHEAD` queued or working: the workers make the rest of a
    go-live import's as their threads free."""
    report = deliver_outbox(engine, limit, ahead=RUNS_AHEAD)
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
    since = cast(DateTime, datetime.now(UTC) - STRAY_WINDOW)
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
