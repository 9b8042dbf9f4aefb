"""One long-lived flow run per case: it does each event's work, then suspends until the next.

On every start or resume the run reads the case from the database, does the work for the events
it has not handled yet (one task a wake-up, keyed by the first event's sequence number; the
ledger records each event's work), publishes its tags and timeline, and
suspends on the key `event-<next seq>`. It never replays history, so resuming costs the same on
the 50th event as on the 1st. The case database, not this run, decides what is true: a run that
is down only delays the work, never the deadlines.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import State
from prefect.context import FlowRunContext
from prefect.exceptions import Pause
from prefect.states import Paused
from sqlalchemy import Engine

from models.cases.ledger import last_seq, mark_flow_handled
from models.cases.view import load_snapshot
from models.runtime import case_engine, clock, crash_point
from tasks.case_work import handle_events, publish_case_view
from tasks.prefect_internals import mark_flow_run_suspension_requested, propose_state

CASE_FLOW_NAME = "cin-case"


def suspend_for_next_event(
    key: str, message: str, name: str = "Suspended", missed: Callable[[], bool] | None = None
) -> None:
    """Suspend this run (the process exits); returns at once if `key` has already fired.

    This is Prefect's `suspend_flow_run(key=...)` (3.9.1) with two differences: the Suspended
    state carries a message, so the Prefect UI shows what the case waits for, and a name:
    "Overdue" on the badge of a case with work past due (`CaseSnapshot.state_name`). It waits
    for no run input: the run reads its events from the case database, so a resume carries
    nothing (no personal data, and no input schema for the server to store, look up and check
    on every wake-up). What it takes from Prefect's internals is in tasks/prefect_internals.py.

    `missed`, asked once the run is suspended: whether an event was accepted while it worked. Its
    delivery found the run awake and left the event to it (tasks/outbox.py), so the run wakes
    itself up again rather than wait for the reconciler.
    """
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        raise RuntimeError("suspend_for_next_event must be called inside a flow run")
    flow_run_id = context.flow_run.id
    # prefect.states.Suspended with a name of our own
    proposed: State[Any] = Paused(
        name=name, reschedule=True, timeout_seconds=None, pause_key=key, message=message
    )
    with get_client(sync_client=True) as client:
        state = propose_state(client, proposed, flow_run_id)
    if state.is_running():
        return  # the orchestrator refused: this key was suspended on and resumed before
    if not state.is_paused():
        raise RuntimeError(f"case run could not be suspended; the API answered {state}")
    mark_flow_run_suspension_requested(flow_run_id, state)
    if missed is not None and missed():
        with get_client(sync_client=True) as client:
            client.resume_flow_run(flow_run_id)  # a delivery that resumed it first wins
    raise Pause(state=state)


def suspension_key(next_seq: int, spurious_wakes: int = 0) -> str:
    """`event-<next seq>`, plus `-w<n>` after a wake that brought no event (Prefect run-input
    keys allow lowercase letters, digits and dashes only)."""
    return f"event-{next_seq}" + (f"-w{spurious_wakes}" if spurious_wakes else "")


@flow(name=CASE_FLOW_NAME, flow_run_name="{case_ref}", log_prints=False)
def case_flow(case_ref: str) -> str:
    """Carry case `case_ref` through its stages; the run's name is the case reference."""
    engine = case_engine()
    # A resume that brought no new event (a reconciler healing the run) would find its key already
    # fired; a suffix then gives the next suspension a key of its own.
    spurious_wakes = 0
    previous_last_seq = -1
    while True:
        snapshot = load_snapshot(engine, case_ref)
        if snapshot.unhandled:
            # one task run for all of them: a task run per event cost the Prefect server three
            # state events each (tasks/case_work.py)
            done = handle_events(case_ref, snapshot.authority, snapshot.unhandled)
            for seq in sorted(done):
                crash_point("after-work", seq)
            mark_flow_handled(engine, case_ref=case_ref, seq=max(done))
            if max(done) < snapshot.unhandled[-1].seq:
                # a cached result from before a crash covers the first events only: the rest
                # go to a task of their own, keyed by the first of them
                continue
        if snapshot.unhandled and _accepted_since(engine, case_ref, snapshot.last_seq):
            # events accepted while this wake-up worked: handle them in it (one query) rather
            # than publish, suspend and wake again for them (six API calls and their events)
            continue
        today = clock().today()
        publish_case_view(snapshot, today)
        if snapshot.closed:
            return f"{case_ref} closed after {snapshot.last_seq} events"
        if snapshot.last_seq == previous_last_seq:
            spurious_wakes += 1
        previous_last_seq = snapshot.last_seq
        key = suspension_key(snapshot.last_seq + 1, spurious_wakes)
        # Returns only if this key already fired (an event arrived while we were working):
        # then go round again and pick it up from the database.
        suspend_for_next_event(
            key=key,
            message=snapshot.waiting_message(today),
            name=snapshot.state_name(today),
            missed=partial(_accepted_since, engine, case_ref, snapshot.last_seq),
        )


def _accepted_since(engine: Engine, case_ref: str, seq: int) -> bool:
    return last_seq(engine, case_ref) > seq
