"""One long-lived flow run per case: it does each event's work, then suspends until the next.

On every start or resume the run reads the case from the database, does the work for the events
it has not handled yet (tasks keyed by sequence number), publishes its tags and timeline, and
suspends on the key `event-<next seq>`. It never replays history, so resuming costs the same on
the 50th event as on the 1st. The case database, not this run, decides what is true: a run that
is down only delays the work, never the deadlines.
"""

from __future__ import annotations

from prefect import flow

from flows.runtime import case_engine, clock, crash_point
from flows.suspension import suspend_for_next_event
from flows.views import load_snapshot
from models.store import mark_flow_handled
from tasks.case_work import handle_event, publish_case_view

CASE_FLOW_NAME = "cin-case"


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
        for event in snapshot.unhandled:
            handle_event(case_ref, snapshot.authority, event)
            crash_point("after-work", event.seq)
            mark_flow_handled(engine, case_ref=case_ref, seq=event.seq)
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
        suspend_for_next_event(key=key, message=snapshot.waiting_message(today))
