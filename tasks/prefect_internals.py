"""Everything the engine takes from Prefect's internals, in one place (Prefect 3.9.1).

Prefect has no public API for three things a case engine needs: suspending a run under a state
name and message of its own, executing a run in a thread of a long-lived process, and claiming a
run in a worker without templating a job for it. What follows is all the engine relies on that
Prefect does not document; nothing else in the engine imports a private Prefect name.
`tests/tasks/test_prefect_internals.py` checks each item (it exists, its parameters, the state
names, and the suspension on a real server) and fails naming it if an upgrade changes it. When
moving Prefect's pin, run that test first, then re-read the code named here against the new
release.

Suspension (flows/case.py `suspend_for_next_event`):
- `prefect._flow_run_suspension.mark_flow_run_suspension_requested(flow_run_id, state) -> bool`:
  tells the engine executing the run, in this process, that the run is now Suspended, so that
  it ends with `Pause` and proposes no final state. Prefect's public `suspend_flow_run` does the
  same after proposing a state named "Suspended" with no message; the engine proposes its own.
- The states: `prefect.states.Paused(name=..., reschedule=True, timeout_seconds=None,
  pause_key=..., message=...)` is a PAUSED state (public), and the orchestrator REJECTs a second
  suspension on a key that already fired with a RUNNING state (its pause-key rule); a resume
  makes the run SCHEDULED "Resuming". The proposal itself is the public
  `SyncPrefectClient.set_flow_run_state` (`propose_state`, below: it replaced Prefect's internal
  `prefect.utilities.engine.propose_state_sync`).

Execution in a thread (engine/executor.py):
- `prefect.flow_engine.FlowRunEngine(flow=, parameters=, flow_run=)`: its `start()`,
  `is_running()`, `run_context()`, `call_flow_fn()`, `state`, `client`, the attribute
  `_flow_run_name_set`, `_get_flow_run_suspension_request()` and the method the executor
  overrides, `setup_flow_run_suspension_request()` (Prefect's starts a suspension observer
  thread per run; the engine's only registers the request). Keep `CaseRunEngine` in step with
  `prefect.flow_engine.run_flow_sync` on every upgrade.
- `prefect._flow_run_suspension.FlowRunSuspensionRequest` and
  `register_flow_run_suspension_request(flow_run_id, request)`: the in-process registry that
  `mark_flow_run_suspension_requested` finds the run's request in.
- `prefect.results._get_default_persist_result()` and `_get_default_result_storage()`: what
  the engine would resolve on every start, resolved once per process.
- `prefect._flow_run_suspension._active_flow_run_suspension_requests`: the registry itself,
  read only by `suspension_requests_open()` (the worker-memory test: no request outlives its run).
- `prefect.flow_engine.run_flow_sync(flow, flow_run=, parameters=, return_type=)`: Prefect's own
  in-process execution, the reference `bench/trivial_flow.py` measures the executor against.

The worker (engine/worker.py `CaseWorker`, a `prefect.workers.base.BaseWorker`):
- the methods it overrides or calls: `_propose_pending_state(flow_run) -> bool` (the claim; in
  3.9.1 it still lets `Pause` through, workers/base.py lines 1765-1782 catch `Abort` and
  `Exception` only), `_get_scheduled_flow_runs()` (its poll, made through the public client's
  `request` with the route's `limit`), `_release_limit_slot(flow_run_id)`;
- the attributes it reads: `_submitting_flow_run_ids`, `_cancelling_observer`, `_limit`,
  `_work_pool_name`, `_work_queues`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any
from uuid import UUID

from prefect._flow_run_suspension import (
    FlowRunSuspensionRequest,
    _active_flow_run_suspension_requests,
    mark_flow_run_suspension_requested,
    register_flow_run_suspension_request,
)
from prefect.client.schemas.objects import State
from prefect.client.schemas.responses import SetStateStatus, StateWaitDetails
from prefect.exceptions import Abort
from prefect.flow_engine import FlowRunEngine, run_flow_sync
from prefect.results import _get_default_persist_result, _get_default_result_storage
from prefect.workers.base import BaseWorker

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient

__all__ = [
    "BaseWorker",
    "FlowRunEngine",
    "FlowRunSuspensionRequest",
    "WORKER_INTERNALS",
    "default_persist_result",
    "default_result_storage",
    "mark_flow_run_suspension_requested",
    "propose_state",
    "register_flow_run_suspension_request",
    "run_flow_sync",
    "suspension_requests_open",
]

# the private members of BaseWorker that CaseWorker overrides, calls or reads
WORKER_INTERNALS = (
    "_propose_pending_state",
    "_get_scheduled_flow_runs",
    "_release_limit_slot",
    "_submitting_flow_run_ids",
    "_cancelling_observer",
    "_limit",
    "_work_pool_name",
    "_work_queues",
)


def propose_state(client: SyncPrefectClient, state: State[Any], flow_run_id: UUID) -> State[Any]:
    """Propose `state` for a flow run through the public client and return the state the
    orchestrator settled on: `state` itself once accepted, or on a rejection the run's state
    (RUNNING when a suspension's key has already fired). A WAIT is waited out and the proposal
    made again; an ABORT raises `prefect.exceptions.Abort`."""
    response = client.set_flow_run_state(flow_run_id, state)
    while response.status == SetStateStatus.WAIT:
        details = response.details
        time.sleep(details.delay_seconds if isinstance(details, StateWaitDetails) else 1)
        response = client.set_flow_run_state(flow_run_id, state)
    if response.status == SetStateStatus.ABORT:
        raise Abort(getattr(response.details, "reason", None) or "aborted by the orchestrator")
    if response.state is None:
        raise RuntimeError(f"the Prefect API answered {response.status} with no state")
    if response.status == SetStateStatus.ACCEPT:
        # the proposal as accepted, with the server's id, time and details (as Prefect's own
        # `propose_state_sync` returns it): its name and message are the engine's
        state.id = response.state.id
        state.timestamp = response.state.timestamp
        if response.state.state_details:
            state.state_details = response.state.state_details
        return state
    return response.state


def default_persist_result() -> bool:
    """Whether a flow persists its result when it does not say (the server's setting)."""
    return _get_default_persist_result()


def default_result_storage() -> Any:
    """The result store a flow gets when it names none (the server's default storage)."""
    return _get_default_result_storage()


def suspension_requests_open() -> int:
    """How many runs of this process have a suspension request registered (one per run being
    executed here; none once every run has returned)."""
    return len(_active_flow_run_suspension_requests)
