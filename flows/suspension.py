"""Suspend a case run until its next event, with a state message saying what it waits for.

This is `prefect.flow_runs.suspend_flow_run(wait_for_input=..., key=...)` from Prefect 3.8.8 with
one difference: the Suspended state carries a message, so the Prefect UI shows "waiting for ...;
review#2 due 2025-03-10" on every suspended case. Keep it in step with that function when
upgrading Prefect.
"""

from __future__ import annotations

from typing import Any, cast

from prefect._flow_run_suspension import mark_flow_run_suspension_requested
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import State
from prefect.context import FlowRunContext
from prefect.exceptions import Pause
from prefect.input import RunInput, keyset_from_paused_state
from prefect.states import Suspended
from prefect.utilities.engine import propose_state_sync
from pydantic import Field


class EventArrived(RunInput):
    """What a resume hands the case run: the newest accepted event's sequence number.

    The run reads the events themselves from the case database, so a resume never carries (or
    needs) any personal data.
    """

    seq: int = Field(ge=1, description="sequence number of the newest accepted event")


def suspend_for_next_event(key: str, message: str) -> EventArrived:
    """Suspend this run (the process exits); returns at once if `key` has already fired."""
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        raise RuntimeError("suspend_for_next_event must be called inside a flow run")
    flow_run_id = context.flow_run.id
    proposed: State[Any] = Suspended(timeout_seconds=None, pause_key=key, message=message)
    keyset = keyset_from_paused_state(proposed)
    proposed.state_details.run_input_keyset = keyset  # type: ignore[assignment]
    with get_client(sync_client=True) as client:
        state = propose_state_sync(client=client, state=proposed, flow_run_id=flow_run_id)
    if state.is_running():
        # the orchestrator refused: this key was suspended on and resumed before
        return cast(EventArrived, EventArrived.load(keyset))
    if not state.is_paused():
        raise RuntimeError(f"case run could not be suspended; the API answered {state}")
    EventArrived.save(keyset)
    mark_flow_run_suspension_requested(flow_run_id, state)
    raise Pause(state=state)
