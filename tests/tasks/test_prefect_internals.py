"""What the engine takes from Prefect's internals (tasks/prefect_internals.py) is still there and
still behaves so: each name, its parameters, the state names, and the suspension on a real
server. A Prefect upgrade that changes one fails here, naming it, before it fails a case.

`python -m tests.tasks.altered_prefect` runs this file against a deliberately altered Prefect
(one function's signature changed) to show that failure.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from datetime import date
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import StateType
from prefect.exceptions import Pause
from prefect.states import Paused, Pending, Running
from prefect.workers.base import BaseJobConfiguration, BaseVariables, BaseWorker
from sqlmodel import Session

from engine.ingest import Ingest
from engine.worker import work
from models.cases.reads import load_case
from tasks.prefect_internals import (
    WORKER_INTERNALS,
    FlowRunSuspensionRequest,
    mark_flow_run_suspension_requested,
    propose_state,
    register_flow_run_suspension_request,
)

ROOT = Path(__file__).resolve().parents[2]

# every internal function or method the engine calls or overrides, with the parameters it
# passes or relies on (in order; a later optional parameter added by Prefect is tolerated)
SIGNATURES: dict[str, list[str]] = {
    "prefect._flow_run_suspension.mark_flow_run_suspension_requested": ["flow_run_id", "state"],
    "prefect._flow_run_suspension.register_flow_run_suspension_request": [
        "flow_run_id",
        "suspension_request",
    ],
    "prefect._flow_run_suspension.FlowRunSuspensionRequest.mark_requested": ["self", "state"],
    "prefect._flow_run_suspension.FlowRunSuspensionRequest.raise_if_requested": ["self"],
    "prefect._flow_run_suspension.FlowRunSuspensionRequest.get_state": ["self"],
    "prefect.flow_engine.FlowRunEngine": ["flow", "parameters", "flow_run"],
    "prefect.flow_engine.FlowRunEngine.start": ["self"],
    "prefect.flow_engine.FlowRunEngine.is_running": ["self"],
    "prefect.flow_engine.FlowRunEngine.run_context": ["self"],
    "prefect.flow_engine.FlowRunEngine.call_flow_fn": ["self"],
    "prefect.flow_engine.FlowRunEngine._get_flow_run_suspension_request": ["self"],
    "prefect.flow_engine.FlowRunEngine.setup_flow_run_suspension_request": ["self"],
    "prefect.flow_engine.run_flow_sync": ["flow", "flow_run", "parameters", "wait_for"],
    "prefect.results._get_default_persist_result": [],
    "prefect.results._get_default_result_storage": [],
    "prefect.workers.base.BaseWorker._propose_pending_state": ["self", "flow_run"],
    "prefect.workers.base.BaseWorker._get_scheduled_flow_runs": ["self"],
    "prefect.workers.base.BaseWorker._release_limit_slot": ["self", "flow_run_id"],
    "prefect.workers.base.BaseWorker.get_and_submit_flow_runs": ["self"],
    "prefect._internal.observers.FlowRunCancellingObserver.remove_in_flight_flow_run_id": [
        "self",
        "flow_run_id",
    ],
    # public: the worker's poll (engine/worker.py `_get_scheduled_flow_runs`) sends the route's
    # `limit` through it, which the client's own method does not take
    "prefect.client.orchestration.PrefectClient.request": [
        "self",
        "method",
        "path",
        "params",
        "path_params",
    ],
    # public, but what tasks/prefect_internals.py `propose_state` replaced an internal with
    "prefect.client.orchestration.SyncPrefectClient.set_flow_run_state": [
        "self",
        "flow_run_id",
        "state",
    ],
    "prefect.states.Paused": [
        "cls",
        "timeout_seconds",
        "pause_expiration_time",
        "reschedule",
        "pause_key",
    ],
}
# keyword parameters the engine passes by name, wherever they stand
KEYWORDS: dict[str, set[str]] = {
    # `name` and `message` travel on through **kwargs to the State
    "prefect.states.Paused": {"pause_key", "reschedule", "timeout_seconds", "kwargs"},
    "prefect.flow_engine.run_flow_sync": {"flow_run", "parameters", "return_type"},
}
OTHER_NAMES = (
    "prefect._flow_run_suspension._active_flow_run_suspension_requests",
    "prefect.flow_engine.FlowRunEngine.client",
    "prefect.flow_engine.FlowRunEngine.state",
)


def resolve(dotted: str) -> Any:
    """The object a dotted name names: the longest importable module, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            target = getattr(target, name)
        return target
    raise ImportError(dotted)


def changed(dotted: str, expected: list[str], keywords: set[str] = frozenset()) -> str | None:
    """None if `dotted` exists and takes `expected` (first, in order) and `keywords`; otherwise
    a sentence naming it and what changed."""
    try:
        target = resolve(dotted)
    except (ImportError, AttributeError) as missing:
        return f"Prefect internal {dotted} is gone ({missing})"
    try:
        parameters = list(inspect.signature(target).parameters)
    except (TypeError, ValueError) as error:
        return f"Prefect internal {dotted} has no readable signature ({error})"
    if parameters[: len(expected)] != expected:
        return f"Prefect internal {dotted} changed: parameters {parameters}, expected {expected}"
    if not keywords <= set(parameters):
        missing_keywords = sorted(keywords - set(parameters))
        return f"Prefect internal {dotted} changed: no parameter {missing_keywords}"
    return None


@pytest.mark.parametrize("dotted", sorted(SIGNATURES))
def test_each_internal_keeps_its_signature(dotted: str) -> None:
    problem = changed(dotted, SIGNATURES[dotted], KEYWORDS.get(dotted, set()))
    assert problem is None, problem


@pytest.mark.parametrize("dotted", OTHER_NAMES)
def test_each_internal_name_exists(dotted: str) -> None:
    try:
        resolve(dotted)
    except (ImportError, AttributeError) as missing:
        pytest.fail(f"Prefect internal {dotted} is gone ({missing})")


class _ProbeWorker(BaseWorker[BaseJobConfiguration, BaseVariables, Any]):
    type = "cin-probe"
    job_configuration = BaseJobConfiguration
    job_configuration_variables = BaseVariables

    async def run(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError


@pytest.mark.parametrize("member", WORKER_INTERNALS)
def test_each_base_worker_member_the_case_worker_uses_exists(member: str) -> None:
    worker = _ProbeWorker(work_pool_name="cin-probe", work_queues=["q"], limit=2)
    assert hasattr(worker, member), f"Prefect internal BaseWorker.{member} is gone"


def test_the_checker_names_a_changed_function(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check itself: a function whose parameters change is reported by its name."""
    import prefect._flow_run_suspension as suspension

    def altered(run_id: Any, state: Any) -> bool:  # a parameter renamed
        return False

    monkeypatch.setattr(suspension, "mark_flow_run_suspension_requested", altered)
    name = "prefect._flow_run_suspension.mark_flow_run_suspension_requested"
    problem = changed(name, SIGNATURES[name])
    assert problem is not None and name in problem and "run_id" in problem
    monkeypatch.delattr(suspension, "mark_flow_run_suspension_requested")
    problem = changed(name, SIGNATURES[name])
    assert problem is not None and name in problem and "gone" in problem


def test_only_the_internals_module_imports_private_prefect_names() -> None:
    """Nothing else in the engine, its benches or its tests imports a private Prefect name."""
    offenders = []
    for path in sorted(ROOT.glob("*/**/*.py")):
        relative = path.relative_to(ROOT)
        if relative.parts[0].startswith(".") or relative == Path("tasks/prefect_internals.py"):
            continue
        if relative.parts[0] not in {*_PACKAGES, "bench", "tests"}:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("prefect"):
                private = [a.name for a in node.names if a.name.startswith("_")]
                if "._" in f".{node.module}" or private:
                    offenders.append(f"{relative}: from {node.module} import {private or '...'}")
    assert offenders == [], offenders


_PACKAGES = {"calendars", "models", "notifications", "tasks", "flows", "engine", "cli", "demo"}


def test_the_states_the_engine_proposes_keep_their_names_and_types() -> None:
    suspended = Paused(
        name="Overdue", reschedule=True, timeout_seconds=None, pause_key="event-2", message="m"
    )
    assert suspended.type is StateType.PAUSED and suspended.name == "Overdue"
    assert suspended.state_details.pause_key == "event-2"
    assert suspended.state_details.pause_reschedule is True
    assert suspended.message == "m"
    assert Pending().type is StateType.PENDING and Running().type is StateType.RUNNING


def test_suspension_on_a_real_server(prefect_server: None, case_db: str) -> None:
    """The orchestration the case flow's suspension relies on, on a real Prefect server: a
    suspension under the engine's own name and message; a resume to "Resuming"; a second
    suspension on a key that already fired refused with the run left RUNNING; the in-process
    registry that turns an accepted suspension into `Pause`."""
    ingest = Ingest.from_settings()
    accepted = ingest.refer(
        authority="redbridge", child_ref="SYN1", on=date(2025, 1, 6), source="2A", team="east"
    )
    work(ingest.engine, threads=1, until_idle=True)
    with Session(ingest.engine) as session:
        run_id = load_case(session, accepted.case_ref).flow_run_id
    assert run_id is not None
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
        assert run.state is not None and run.state.type is StateType.PAUSED, run.state
        assert run.state.name == "Overdue", run.state.name  # the engine's name, not "Suspended"
        assert run.state.state_details.pause_key == "event-2"
        assert "waiting for referral_decision" in (run.state.message or "")

        client.resume_flow_run(run_id)
        run = client.read_flow_run(run_id)
        assert run.state is not None and run.state.type is StateType.SCHEDULED
        assert run.state.name == "Resuming", run.state.name
        assert propose_state(client, Pending(), run_id).type is StateType.PENDING
        assert propose_state(client, Running(), run_id).type is StateType.RUNNING

        again = Paused(reschedule=True, timeout_seconds=None, pause_key="event-2", name="Overdue")
        refused = propose_state(client, again, run_id)
        assert refused.type is StateType.RUNNING, f"a fired key was suspended on: {refused}"

        new_key = f"event-{uuid4().hex[:6]}"
        proposed = Paused(
            name="Suspended",
            reschedule=True,
            timeout_seconds=None,
            pause_key=new_key,
            message="waiting",
        )
        suspended = propose_state(client, proposed, run_id)
        assert suspended.type is StateType.PAUSED and suspended.id is not None
        run = client.read_flow_run(run_id)
        assert run.state is not None and run.state.state_details.pause_key == new_key
        assert run.state.message == "waiting"

    assert mark_flow_run_suspension_requested(run_id, suspended) is False  # nothing registered
    request = FlowRunSuspensionRequest()
    with register_flow_run_suspension_request(run_id, request):
        assert mark_flow_run_suspension_requested(run_id, suspended) is True
        with pytest.raises(Pause) as paused:
            request.raise_if_requested()
        assert paused.value.state is suspended
    assert mark_flow_run_suspension_requested(run_id, suspended) is False  # unregistered

    # and the case run resumes from there and suspends again at its next event
    ingest.record(
        accepted.case_ref,
        {"type": "referral_decision", "on": "2025-01-07", "outcome": "assessment"},
        key="internals-1",
    )
    work(ingest.engine, threads=1, until_idle=True)
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
    assert run.state is not None and run.state.type is StateType.PAUSED, run.state
    assert run.state.state_details.pause_key == "event-3", run.state.state_details.pause_key
    with Session(ingest.engine) as session:
        case = load_case(session, accepted.case_ref)
    assert case.flow_seq == case.last_seq == 2
