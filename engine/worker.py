"""`cin worker`: a Prefect worker of the engine's own type that executes case runs in threads.

A process worker starts a process per flow run, which costs seconds per resume on a small
machine; a case engine resumes runs all day. `CaseWorker` is a `BaseWorker` (Prefect 3.9.1) for
the `cin-cases` work pool: it heartbeats like any worker (so the deployment shows Ready while one
is up), polls only its own instance's work queue, claims each run through Prefect's Pending
transition (a run is claimed once, whatever number of workers poll), and executes it in a thread
of this process with the case's lock held (engine/delivery.py). It is also the reconciler's hands:
each poll delivers the outbox, and every `HOUSEKEEPING_SECONDS` it takes back runs whose worker
died and cancels stray runs (tasks/outbox.py, tasks/run_repair.py). The worker type owns its pool:
`case_deployment_id` makes the pool (with this type's job template) and registers the instance's
case deployment on it. Imports engine/delivery.py, never the other way round. The private members
of `BaseWorker` it overrides, calls or reads are listed in tasks/prefect_internals.py
(`WORKER_INTERNALS`) and checked by tests/tasks/test_prefect_internals.py.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, cast

import anyio
import anyio.abc
from httpx import HTTPStatusError
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.client.schemas.responses import WorkerFlowRunResponse
from prefect.context import SettingsContext, get_settings_context
from prefect.deployments.runner import RunnerDeployment
from prefect.exceptions import Abort, ObjectAlreadyExists, ObjectNotFound, Pause
from prefect.workers.base import BaseJobConfiguration, BaseVariables, BaseWorker, BaseWorkerResult
from sqlalchemy import Engine

from engine.delivery import run_case_run
from engine.executor import prepare_thread
from flows.case import case_flow
from models.cases.outbox import hand_back_lost_runs, open_case_runs
from models.instance import instance_id, instance_tag, work_queue_name
from tasks.outbox import (
    CASE_POOL,
    DeliveryReport,
    RunAllowance,
    case_deployment_name,
    deliver_outbox,
    remember_deployment,
    run_states,
)
from tasks.run_repair import housekeeping

if TYPE_CHECKING:
    from prefect.client.schemas.objects import FlowRun

log = logging.getLogger("cin.worker")
HOUSEKEEPING_SECONDS = 10.0
# A serving worker claims a resumed run once it has waited this long (engine default): events a
# recording system sends in a burst then share one wake-up instead of waking the case for each.
# Each wake-up costs the Prefect server about six API calls and their state events, whatever the
# events it brings, and a worker with a free thread would otherwise claim a run the instant it
# is resumed. A worker run until idle (the demo, `--until-idle`) does not wait.
SETTLE_SECONDS = 0.3
# A worker makes new runs (after a go-live import, every case needs one) only while fewer than
# this many a thread of its own are queued or working (engine default): enough that a thread
# that frees finds a run waiting (a made run is claimable `SETTLE_SECONDS` later), few enough
# that Prefect's queue stays short and the outbox holds the rest (docs/scale-out.md).
RUNS_AHEAD_PER_THREAD = 4


WORKER_TYPE = "cin-case"
_registered: dict[tuple[str, str], uuid.UUID] = {}
_register_guard = threading.Lock()


def _enter_settings(settings: SettingsContext) -> None:
    """A worker thread's first act: the settings of the code that made the worker."""
    SettingsContext.__var__.set(settings)


class CaseWorkerResult(BaseWorkerResult):
    """How a case run's execution in a thread ended (status 0: it suspended or finished)."""


class CaseWorker(BaseWorker[BaseJobConfiguration, BaseVariables, CaseWorkerResult]):
    type = WORKER_TYPE
    job_configuration = BaseJobConfiguration
    job_configuration_variables = BaseVariables
    _description = "Executes case runs in threads of the worker process (cin worker)."

    def __init__(
        self, engine: Engine, *, threads: int = 2, name: str | None = None, settle: float = 0.0
    ) -> None:
        super().__init__(
            work_pool_name=CASE_POOL,
            work_queues=[work_queue_name(instance_id(engine))],
            name=name,
            prefetch_seconds=0,
            limit=threads,
        )
        self.engine = engine
        # the threads work against the Prefect settings in force where the worker was made (a
        # test's or the demo's temporary settings), not the process's import-time defaults: a
        # fresh thread has no settings context of its own, and Prefect falls back to the global
        # one, whose API URL may be another server (the upgrade test saw 404s from an earlier
        # test's ephemeral server)
        inherit = (get_settings_context(),)
        self.threads = ThreadPoolExecutor(
            max_workers=threads,
            thread_name_prefix="cin-case",
            initializer=_enter_settings,
            initargs=inherit,
        )
        # the outbox pass's own thread, whose context persists between polls: `anyio.to_thread`
        # runs each call in a fresh copy of the event loop's context, where the shared client
        # `prepare_thread` made last time is not in force (made again every poll until main's
        # worker-memory fix; put back every poll since)
        self.outbox = ThreadPoolExecutor(
            max_workers=1,
            thread_name_prefix="cin-outbox",
            initializer=_enter_settings,
            initargs=inherit,
        )
        self.freed = asyncio.Event()  # set when a thread finishes a run
        self.settle = settle  # seconds a resumed run waits before this worker claims it

    async def run(
        self,
        flow_run: FlowRun,
        configuration: BaseJobConfiguration,
        task_status: anyio.abc.TaskStatus[int] | None = None,
    ) -> CaseWorkerResult:
        if task_status is not None:
            task_status.started(0)
        return await self._execute(flow_run)

    async def _execute(self, flow_run: FlowRun) -> CaseWorkerResult:
        try:
            await asyncio.wrap_future(
                self.threads.submit(run_case_run, self.engine, flow_run.id, flow_run)
            )
            return CaseWorkerResult(identifier=str(flow_run.id), status_code=0)
        except Exception as error:  # left Running: the lock is free, so it is taken back
            log.warning("case run %s failed: %s", flow_run.id, type(error).__name__)
            return CaseWorkerResult(identifier=str(flow_run.id), status_code=1)

    async def _submit_run(self, flow_run: FlowRun) -> None:
        """Prefect's claim (the Pending transition), then a thread. The base class would also
        read the deployment, template a job, label the run and record a process id: API calls
        a thread needs none of, on every wake-up of every case."""
        try:
            if await self._propose_pending_state(flow_run):
                await self._execute(flow_run)
        finally:
            self._release_limit_slot(flow_run.id)
            self._submitting_flow_run_ids.discard(flow_run.id)
            if self._cancelling_observer is not None:
                self._cancelling_observer.remove_in_flight_flow_run_id(flow_run.id)
            self.freed.set()

    async def _propose_pending_state(self, flow_run: FlowRun) -> bool:
        """Prefect's claim, where a run another worker claimed, ran and suspended since this
        worker's poll is simply not claimed. Prefect answers that claim with `Pause` (the server
        rejects Paused -> Pending), a `BaseException` the base class lets through (3.8.8 and
        3.9.1 alike: `BaseWorker._propose_pending_state` catches `Abort` and `Exception`): it
        ended the worker process, and a case run another of its threads was executing lost
        the task-run events it had not yet sent."""
        try:
            return await super()._propose_pending_state(flow_run)
        except (Pause, Abort) as refused:
            log.info("run %s not claimed: %s", flow_run.id, refused)
            return False

    async def get_and_submit_flow_runs(self) -> list[FlowRun]:
        """Prefect's poll, skipped while the worker is `full` (every thread busy, or all but
        fewer than half): it could claim little or nothing, and each poll costs the Prefect
        server a query and two writes (issue 9: its CPU is the bottleneck). The loop in
        `serve_worker` polls again as soon as enough threads free."""
        if self.full:
            return []
        return await super().get_and_submit_flow_runs()

    async def _get_scheduled_flow_runs(self) -> list[WorkerFlowRunResponse]:
        """Prefect's query for the runs due, less those resumed under `settle` seconds ago, and
        no more of them than this worker has threads free: it submits no more than that, and a
        round of the demo has a hundred runs waiting, which Prefect's own query would return
        (server-side serialised, client-side validated) on every poll, one poll per run done."""
        body: dict[str, object] = {
            "work_queue_names": list(self._work_queues),
            "scheduled_before": (datetime.now(UTC) - timedelta(seconds=self.settle)).isoformat(),
        }
        if self._limit is not None:
            body["limit"] = max(1, self._limit - len(self._submitting_flow_run_ids))
        try:
            response = await self.client.request(
                "POST",
                "/work_pools/{name}/get_scheduled_flow_runs",
                path_params={"name": self._work_pool_name},
                json=body,
            )
        except HTTPStatusError as error:
            if error.response.status_code == 404:
                return []  # the pool is made again by the next heartbeat (Prefect's own)
            raise
        return WorkerFlowRunResponse.model_validate_list(response.json())

    @functools.cached_property
    def ahead(self) -> RunAllowance:
        """Runs made ahead of the threads: new runs are made while fewer than this many of
        those this worker made are queued or working (engine default, `RUNS_AHEAD_PER_THREAD`
        a thread)."""
        return RunAllowance(self.engine, RUNS_AHEAD_PER_THREAD * (self._limit or 1), own=True)

    @property
    def busy(self) -> bool:
        return bool(self._submitting_flow_run_ids)

    @property
    def full(self) -> bool:
        """Too few threads free to poll for: fewer than half of them (at least one). A poll
        costs the Prefect server about as much as a state change whatever it returns (it also
        marks the queue and deployment Ready), so one that claims two runs or more, rather
        than one each time a thread frees, halves what a backlog's polls cost it; the threads
        left waiting meanwhile are a moment's, while the others work."""
        if self._limit is None:
            return False
        return self._limit - len(self._submitting_flow_run_ids) < max(1, self._limit // 2)

    async def rest(self, seconds: float) -> None:
        """Sleep up to `seconds`, or less if a thread has finished a run since the last rest."""
        with anyio.move_on_after(seconds):
            await self.freed.wait()
        self.freed.clear()


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


def recover_lost_server(engine: Engine) -> int:
    """The Prefect server lost its database (or was restored from an old backup): this
    instance's case deployment is gone. Register it (and the pool) again, and hand every open
    case whose run the server does not know back to the outbox (`hand_back_lost_runs`): the
    workers make their runs a few at a time, as after a go-live import, and each starts, skips
    the work the ledger says is done, labels itself and suspends at the case's next event
    (issue 26). One read of the deployment when nothing is lost; returns the cases handed back."""
    from prefect.settings import PREFECT_API_URL

    deployment_id = case_deployment_id(engine)
    with get_client(sync_client=True) as client:
        try:
            client.read_deployment(deployment_id)
            return 0
        except ObjectNotFound:
            pass
    log.warning("the case deployment is gone from the Prefect server: rebuilding the runs")
    with _register_guard:
        _registered.pop((str(PREFECT_API_URL.value()), instance_id(engine)), None)
    case_deployment_id(engine)
    runs = open_case_runs(engine)
    known = run_states([run_id for _, run_id in runs])  # a run Prefect knows is kept
    handed = hand_back_lost_runs(engine, [(case, run) for case, run in runs if run not in known])
    log.warning("%d open cases wait in the outbox for their runs to be made again", handed)
    return handed


def ensure_case_pool() -> None:
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


def _outbox_pass(
    engine: Engine,
    with_housekeeping: bool,
    patient: bool = False,
    settle: bool = False,
    ahead: int | RunAllowance | None = None,
) -> DeliveryReport:
    """Every poll: the outbox; with housekeeping, every out-of-step case too. A run that
    suspends over an event accepted meanwhile wakes itself (flows/case.py), so a case left out
    of step is a failure (a crash, a lost resume): looked for every `HOUSEKEEPING_SECONDS`, not
    on every poll, where a backlog of cases being worked on cost two API calls each a poll and
    held up the poll itself. A serving worker passes `settle` (rows accepted under 2 s ago are
    left to their accepter, models/cases/outbox.py `SETTLING`) and, unless it stops once idle,
    `patient` (an out-of-step case whose run is still working through its events is left to
    it, `STUCK`). `ahead`: new runs are made only while fewer runs than that are queued or
    working: the instance's, or (the worker's `RunAllowance`) those it made itself
    (tasks/outbox.py `deliver_outbox`)."""
    prepare_thread()
    if with_housekeeping:  # a Prefect server whose database was lost: its runs made again first
        try:
            recover_lost_server(engine)
        except Exception as error:  # Prefect unreachable: the outbox pass below says so per case
            log.warning("lost-server check failed (%s)", type(error).__name__)
    report = deliver_outbox(
        engine, out_of_step=with_housekeeping, settle=settle, patient=patient, ahead=ahead
    )
    if with_housekeeping:
        housekeeping(engine, report)
    return report


async def serve_worker(
    worker: CaseWorker, stop: threading.Event, poll_seconds: float, until_idle: bool
) -> None:
    engine = worker.engine
    registered = False
    async with worker:  # a Prefect server that is down at start is waited for, not fatal
        last_sync = last_housekeeping = time.monotonic()
        first = True
        while not stop.is_set():
            now = time.monotonic()
            try:
                if not registered:
                    await anyio.to_thread.run_sync(case_deployment_id, engine)
                    registered = True
                if now - last_sync > worker.heartbeat_interval_seconds or not _synced(worker):
                    await worker.sync_with_backend()
                    last_sync = now
                # run until idle, it looks for out-of-step cases when its threads are idle,
                # not every 10 s while they work: the cases whose runs wait for a thread are
                # out of step too, and a demo round (a hundred of them) read each run again
                # each time, a Prefect call per waiting case every 10 s
                due = first or (
                    now - last_housekeeping > HOUSEKEEPING_SECONDS
                    and not (until_idle and worker.busy)
                )
                report = await asyncio.wrap_future(
                    worker.outbox.submit(
                        _outbox_pass, engine, due, not until_idle, True, worker.ahead
                    )
                )
                if due:
                    last_housekeeping, first = now, False
                submitted = await worker.get_and_submit_flow_runs()
            except Exception as error:  # Prefect unreachable: accepted events wait in the outbox
                log.warning("worker pass failed (%s: %s); retrying", type(error).__name__, error)
                await anyio.sleep(poll_seconds)
                continue
            idle = not submitted and report.delivered == report.healed == report.waiting == 0
            if until_idle and idle and not worker.busy and report.failed == 0 and _synced(worker):
                return
            if worker.full or (not submitted and report.delivered == 0):
                await worker.rest(poll_seconds)
    worker.threads.shutdown(wait=True)
    worker.outbox.shutdown(wait=True)


def _synced(worker: CaseWorker) -> bool:
    return bool(getattr(worker, "_has_successfully_synced", False))


def work(
    engine: Engine,
    *,
    threads: int = 2,
    poll_seconds: float = 0.5,
    until_idle: bool = False,
    stop: threading.Event | None = None,
    name: str | None = None,
) -> None:
    """Work until stopped (or, with `until_idle`, until a pass finds nothing to do)."""
    worker = CaseWorker(
        engine, threads=threads, name=name, settle=0.0 if until_idle else SETTLE_SECONDS
    )
    asyncio.run(serve_worker(worker, stop or threading.Event(), poll_seconds, until_idle))


__all__ = ["CaseWorker", "case_deployment_id", "work"]
