"""The work a case run does for the events a wake-up brings, as one Prefect task.

One task run per wake-up, not one per event: a task run costs the Prefect server three state
events (written, recorded as a task run, seen by its services) and a cache lookup and result
file here, whatever it does, and on the embedded SQLite server those were most of a wake-up's
cost (issue 20: `make demo` under 2 minutes). The per-event truth is the case database's ledger
(`case_work`, a row per event, `record_work`/`recorded_work`), not the task runs: the task
skips every event the ledger already holds.

The task is keyed by the first event it is handed, (instance, case, seq): the flow hands it the
case's unhandled events, which always start at `flow_seq + 1`, and its result says which events
it did the work for. A run that crashed after the task finished and runs again gets that cached
result, marks those events handled and hands any later event to a task keyed by its own seq.
Every side effect here is idempotent on (case, seq) besides (Prefect events carry a
deterministic id, artifacts are versions under a fixed key, tags are set not appended), so a
run that crashes and runs again repeats nothing a manager would see twice.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, cast

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.client.orchestration import get_client
from prefect.context import FlowRunContext
from prefect.events import emit_event

from models.cases.ledger import record_work, recorded_work
from models.cases.view import CaseSnapshot, LoggedEvent, timeline_description, timeline_markdown
from models.instance import case_artifact_key, event_cache_key, instance_id, instance_tag
from models.policy.book import PolicyError
from models.runtime import case_engine, crash_point, policies
from notifications.ladder import ladder

# Which events ask something of the world beyond the case record, and what.
STAGE_WORK: dict[tuple[str, str | None], str] = {
    ("review_held", "step_down_panel"): "step-down panel requested",
    ("review_held", "escalate"): "escalated to a strategy discussion (s47)",
    ("assessment_completed", "escalate"): "escalated to a strategy discussion (s47)",
    ("referral_decision", "strategy_discussion"): "strategy discussion convened",
    ("assessment_completed", "cin_plan"): "CIN meeting to be convened",
    ("step_down_panel", "accepted"): "final CIN meeting to hand over to early help",
    ("icpc_held", "cp_plan"): "child protection plan made",
    ("s47_concluded", "icpc_not_required"): "s47 enquiries concluded: no conference needed",
    ("cp_review_held", "cin_plan"): "child protection plan ended: CIN meeting to be convened",
    ("consent_withdrawn", None): "consent withdrawn: the plan's clocks stopped",
}
NAMESPACE = uuid.UUID("6c1f2f4e-6a55-4d53-9b0e-2f0d7a1c9e11")


def event_id(instance: str, case_ref: str, seq: int, what: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"{instance}:{case_ref}:{seq}:{what}")


def _events_cache_key(_context: object, parameters: dict[str, object]) -> str:
    """(instance, case, seq of the first event handed over): a database recreated in the same
    folder is a new instance, so its cases never find the old database's cached results."""
    events = parameters["events"]
    assert isinstance(events, list) and events and isinstance(events[0], LoggedEvent)
    return event_cache_key(instance_id(case_engine()), str(parameters["case_ref"]), events[0].seq)


def work_run_name(events: list[LoggedEvent]) -> str:
    """The task run's name: each event it was handed, `<event type> #<seq>`, comma-separated
    (one event's reads as a task run per event's did)."""
    return ", ".join(f"{event.event_type} #{event.seq}" for event in events)


def _task_run_name(parameters: dict[str, Any]) -> str:
    return work_run_name(list(parameters.get("events") or []))


# Cached on the first event's seq with the result persisted: a run that crashed after this task
# finished and runs again gets the cached result instead of doing the work a second time.
@task(
    # Prefect passes `parameters` to a name callable that takes it (its protocol for that is a
    # class with a classmethod, which no plain function matches for mypy)
    task_run_name=cast(Any, _task_run_name),
    retries=2,
    retry_delay_seconds=1,
    cache_key_fn=_events_cache_key,
    persist_result=True,
)
def handle_events(
    case_ref: str, authority: str, events: list[LoggedEvent]
) -> dict[int, str | None]:
    """Do the work of a wake-up's events, oldest first: each event's work is recorded in the
    case's ledger, and where it asks something of the world (a step-down panel, an escalation)
    a Prefect event is emitted for automations and logged. Returns each event's work by seq
    (None: the event asks nothing beyond the case record); the flow marks them handled.

    Prefect's cache keeps a task that finished from running again, but it records the result
    after the task's body returns: a worker killed between a ledger write here and that record
    would have the work done twice when the run is taken back. The ledger, in the case
    database, is the record that counts: work it holds is not done again."""
    return {event.seq: handle_event(case_ref, authority, event) for event in events}


def handle_event(case_ref: str, authority: str, event: LoggedEvent) -> str | None:
    """One event's work, unless the ledger holds it already (not a task of its own)."""
    done = recorded_work(case_engine(), case_ref=case_ref, seq=event.seq)
    if done is not None:
        return done.work
    outcome = event.payload.get("outcome")
    work = STAGE_WORK.get((event.event_type, outcome if isinstance(outcome, str) else None))
    if work:
        # a domain event automations can act on; its id makes a repeat after a crash one event
        emit_event(
            event=f"cin.case.{event.event_type}",
            resource={"prefect.resource.id": f"cin.case.{case_ref}", "cin.authority": authority},
            payload={"seq": event.seq, "on": event.occurred_on.isoformat(), "work": work},
            id=event_id(instance_id(case_engine()), case_ref, event.seq, "event"),
        )
        get_run_logger().info("case %s event %s: %s", case_ref, event.seq, work)
    record_work(case_engine(), case_ref=case_ref, seq=event.seq, work=work)
    crash_point("after-ledger", event.seq)  # before Prefect records this task's result
    return work


def publish_case_view(snapshot: CaseSnapshot, today: date) -> None:
    """Keep the run's tags current and publish the timeline artifact (a new version per
    wake-up). Called by the case flow itself, not as a task: a task run of its own cost the
    Prefect server three state events per wake-up and showed nothing the artifact does not
    (a failure fails the run, which the reconciler starts again)."""
    context = FlowRunContext.get()
    if context is not None:  # one line per wake-up, so the run's Logs tab says what it did
        handled = ", ".join(f"#{e.seq} {e.event_type}" for e in snapshot.unhandled)
        get_run_logger().info(
            "%s on %s: %s; %s",
            snapshot.case_ref,
            today.isoformat(),
            f"handled {handled}" if handled else "woke with no new event",
            snapshot.waiting_message(today),
        )
    instance = instance_id(case_engine())
    tags = [*snapshot.tags(today, rung_roles(snapshot.authority, today)), instance_tag(instance)]
    if context is not None and context.flow_run is not None:
        if set(context.flow_run.tags) != set(tags):
            with get_client(sync_client=True) as client:
                client.update_flow_run(context.flow_run.id, tags=tags)
            context.flow_run.tags = tags
    timeline = timeline_markdown(snapshot, today)
    # the timeline in the caption too: the key's page (`/artifacts/key/...`, every alert's
    # link) shows the latest version's caption at once, its content only a click further on
    create_markdown_artifact(
        key=case_artifact_key(instance, snapshot.case_ref),
        markdown=timeline,
        description=f"{timeline_description(snapshot, today)}\n\n{timeline}",
    )


def rung_roles(authority: str, today: date) -> list[str]:
    """The roles of the authority's escalation ladder, rung 1 first (for the `rung:` tag)."""
    try:
        policy = policies().authority(authority).on(today)
    except PolicyError:
        return []
    return [step.role.value for step in ladder(policy)]
