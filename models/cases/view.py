"""What a case run shows operations staff: tags, the state message, the timeline artifact.

Built from the case database only; carries case references and codes, never a child's details.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session

from models.access.actors import actor_text
from models.cases.reads import case_deadlines, case_events, load_case

OVERDUE_TAG = "overdue"
OVERDUE_STATE = "Overdue"
SUSPENDED_STATE = "Suspended"  # Prefect's name; its run observers look for it


def overdue_since(due: date) -> date:
    """A deadline due on D is overdue from D + 1: "within" includes the due date itself."""
    return due + timedelta(days=1)


class LoggedEvent(BaseModel):
    seq: int
    event_type: str
    occurred_on: date
    payload: dict[str, Any]
    recorded_by: str = ""  # who recorded it (models/actors.py): staff ids, never a name


class DeadlineView(BaseModel):
    key: str
    kind: str
    due: date
    status: str
    met_on: date | None
    explanation: str
    escalation_level: int = 0  # how far up the ladder the monitor has told (0 = nobody)


class CaseSnapshot(BaseModel):
    case_ref: str
    authority: str
    team: str | None
    stage: str
    last_seq: int
    flow_seq: int
    events: list[LoggedEvent]  # the newest events (all unhandled ones included), oldest first
    deadlines: list[DeadlineView]

    @property
    def closed(self) -> bool:
        return self.stage == "closed"

    @property
    def unhandled(self) -> list[LoggedEvent]:
        return [e for e in self.events if e.seq > self.flow_seq]

    def open_deadlines(self) -> list[DeadlineView]:
        return [d for d in self.deadlines if d.status in ("open", "missed")]

    def overdue(self, today: date) -> list[DeadlineView]:
        return [d for d in self.open_deadlines() if d.due < today]

    def tags(self, today: date, rungs: Sequence[str] = ()) -> list[str]:
        """The run's tags. An overdue case also carries `overdue` and, once the monitor has told
        somebody, `rung:<role>` of the highest rung told (`rungs` names the case's ladder, rung
        1 first), so the runs list can be filtered to overdue work and to how far it went."""
        tags = [
            f"authority:{self.authority}",
            f"team:{self.team or 'unallocated'}",
            f"stage:{self.stage}",
        ]
        late = self.overdue(today)
        if late:
            tags.append(OVERDUE_TAG)
            level = max(d.escalation_level for d in late)
            if level >= 1 and rungs:
                tags.append(f"rung:{rungs[min(level, len(rungs)) - 1]}")
        return tags

    def state_name(self, today: date) -> str:
        """The name of the run's Paused state, shown on its badge in the runs list: "Overdue"
        while any open deadline is past due, else Prefect's own "Suspended"."""
        return OVERDUE_STATE if self.overdue(today) else SUSPENDED_STATE

    def waiting_message(self, today: date) -> str:
        """The Paused state's message: when the first open deadline is (or was) due, what the
        case waits for, its stage. Whether it is overdue comes first: the Prefect UI cuts the
        message short."""
        pending = self.open_deadlines()
        if not pending:
            return f"nothing due: waiting for the next record · stage {self.stage}"
        first = min(pending, key=lambda d: (d.due, d.key))
        when = (
            f"overdue since {overdue_since(first.due).isoformat()} (due {first.due.isoformat()})"
            if first.due < today
            else f"due {first.due.isoformat()}"
        )
        more = f" · +{len(pending) - 1} more open" if len(pending) > 1 else ""
        return f"{when}: waiting for {first.key} · stage {self.stage}{more}"


# The timeline shows this many recent events, so a run's work per wake-up does not grow with the
# length of the case (DESIGN.md: an event's cost must not grow with the case's history).
TIMELINE_EVENTS = 30


def load_snapshot(engine: Engine, case_ref: str) -> CaseSnapshot:
    with Session(engine) as session:
        case = load_case(session, case_ref)
        window = max(TIMELINE_EVENTS, case.last_seq - case.flow_seq)
        events = [
            LoggedEvent(
                seq=e.seq,
                event_type=e.event_type,
                occurred_on=e.occurred_on,
                payload=e.payload,
                recorded_by=actor_text(e.actor_kind, e.actor, e.recorded_by),
            )
            for e in case_events(session, case.id, after_seq=case.last_seq - window)
        ]
        deadlines = [
            DeadlineView(
                key=d.key,
                kind=d.kind,
                due=d.due,
                status=d.status,
                met_on=d.met_on,
                explanation=d.explanation,
                escalation_level=d.escalation_level,
            )
            for d in case_deadlines(session, case.id)
        ]
        return CaseSnapshot(
            case_ref=case.case_ref,
            authority=case.authority,
            team=case.team,
            stage=case.stage,
            last_seq=case.last_seq,
            flow_seq=case.flow_seq,
            events=events,
            deadlines=deadlines,
        )


def timeline_description(snapshot: CaseSnapshot, today: date) -> str:
    """The artifact card's caption: which version this is (the event it follows), so the current
    one stands out among the run's earlier ones; and what is due next, by date, so it does not go
    stale while the run sleeps (the run's state says whether that date has passed)."""
    pending = snapshot.open_deadlines()
    if pending:
        first = min(pending, key=lambda d: (d.due, d.key))
        more = f" (+{len(pending) - 1} more)" if len(pending) > 1 else ""
        waits = f"waits for {first.kind}, due {first.due.isoformat()}{more}"
    else:
        waits = "nothing due"
    # the event number first: a card in the run's Artifacts tab shows only the start
    return (
        f"Event {snapshot.last_seq} of {snapshot.case_ref} ({today.isoformat()}) · "
        f"stage {snapshot.stage} · {waits}"
    )


def timeline_markdown(snapshot: CaseSnapshot, today: date) -> str:
    lines = [
        f"# Case {snapshot.case_ref}",
        "",
        f"**Authority** {snapshot.authority} · **Team** {snapshot.team or 'unallocated'} · "
        f"**Stage** {snapshot.stage} · **As of** {today.isoformat()}",
        "",
        "## Open deadlines",
        "",
    ]
    pending = sorted(snapshot.open_deadlines(), key=lambda d: (d.due, d.key))
    if pending:
        # "why" is a list under the table, not a column: a column of explanations pushed the
        # table past the right edge of a 1600 px screen in the Prefect UI
        lines += ["| deadline | due | status |", "|---|---|---|"]
        for d in pending:
            since = overdue_since(d.due)
            status = f"**overdue since {since.isoformat()}**" if d.due < today else d.status
            lines.append(f"| {d.key} | {d.due.isoformat()} | {status} |")
        lines += ["", "How each date was counted:", ""]
        lines += [f"- {d.key}: {d.explanation}" for d in pending]
    else:
        lines.append("None.")
    shown = (
        f" (latest {len(snapshot.events)} of {snapshot.last_seq})"
        if snapshot.events and snapshot.events[0].seq > 1
        else ""
    )
    lines += [
        "",
        f"## Timeline{shown}",
        "",
        "| # | date | event | detail | recorded by |",
        "|---|---|---|---|---|",
    ]
    for e in snapshot.events:
        detail = ", ".join(
            f"{k}={v}" for k, v in e.payload.items() if k in ("outcome", "reason", "source")
        )
        who = e.recorded_by.replace("|", "/")
        lines.append(
            f"| {e.seq} | {e.occurred_on.isoformat()} | {e.event_type} | {detail} | {who} |"
        )
    closed = [d for d in snapshot.deadlines if d.status not in ("open", "missed")]
    if closed:
        lines += ["", "## Closed deadlines", "", "| deadline | due | status | met on |"]
        lines.append("|---|---|---|---|")
        for d in closed:
            met = d.met_on.isoformat() if d.met_on else ""
            lines.append(f"| {d.key} | {d.due.isoformat()} | {d.status} | {met} |")
    return "\n".join(lines) + "\n"
