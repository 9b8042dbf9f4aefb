"""`cin worker`: deliver the outbox and execute scheduled case runs in this process.

A Prefect runner starts a process per flow run, which costs seconds per resume on a small
machine; a case engine resumes runs all day, so this worker runs them in threads instead, through
the same deployment. It is also the reconciler's hands: each pass delivers the outbox and heals
runs that are missing, crashed or out of step.
"""

from __future__ import annotations

import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.sorting import FlowRunSort
from sqlalchemy import Engine

from engine.delivery import (
    case_deployment_id,
    deliver_pending,
    reschedule_if_running,
    run_case_run,
    take_back_running_runs,
)

log = logging.getLogger("cin.worker")


@dataclass
class PassReport:
    delivered: int
    executed: int
    failed_deliveries: int


def scheduled_case_runs(limit: int = 200) -> list[uuid.UUID]:
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(
                    type=FlowRunFilterStateType(any_=[StateType.SCHEDULED, StateType.PENDING])
                )
            ),
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[case_deployment_id()])),
            sort=FlowRunSort.EXPECTED_START_TIME_ASC,
            limit=limit,
        )
    return [r.id for r in runs]


def work_pass(
    engine: Engine, pool: ThreadPoolExecutor, interrupted: set[uuid.UUID] | None = None
) -> PassReport:
    """One pass: deliver what the outbox holds, then run every scheduled case run to its suspend.

    `interrupted` carries, from pass to pass, runs this worker was executing when something
    failed under it (typically the Prefect server going away): they are left Running, so they are
    rescheduled as soon as the server answers again rather than after the orphan timeout.
    """
    interrupted = interrupted if interrupted is not None else set()
    for run_id in list(interrupted):
        reschedule_if_running(run_id)
        interrupted.discard(run_id)
    report = deliver_pending(engine)
    run_ids = list(dict.fromkeys(report.run_ids + scheduled_case_runs()))
    futures = {pool.submit(run_case_run, run_id): run_id for run_id in run_ids}
    wait(futures)
    for future, run_id in futures.items():
        if future.exception() is not None:
            log.warning("case run %s failed: %s", run_id, type(future.exception()).__name__)
            interrupted.add(run_id)
    return PassReport(report.delivered, len(run_ids), report.failed)


def work(
    engine: Engine,
    *,
    threads: int = 2,
    poll_seconds: float = 1.0,
    until_idle: bool = False,
    stop: threading.Event | None = None,
) -> None:
    """Work until stopped (or, with `until_idle`, until a pass finds nothing to do)."""
    stop = stop or threading.Event()
    try:
        take_back_running_runs(engine)
    except Exception as error:
        log.warning("could not take back runs at start (%s)", type(error).__name__)
    interrupted: set[uuid.UUID] = set()
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="cin-case") as pool:
        while not stop.is_set():
            try:
                report = work_pass(engine, pool, interrupted)
            except Exception as error:  # Prefect unreachable: accepted events wait in the outbox
                log.warning("worker pass failed (%s); retrying", type(error).__name__)
                stop.wait(poll_seconds)
                continue
            idle = report.executed == 0 and report.delivered == 0
            if until_idle and idle and report.failed_deliveries == 0:
                return
            if idle:
                stop.wait(poll_seconds)
