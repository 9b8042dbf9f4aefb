"""What a case run shows operations staff: tags, the state message, the timeline artifact.

Built from the case database only; carries case references and codes, never a child's details.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session

from models.store import case_deadlines, case_events, load_case


def overdue_since(due: date) -> date:
    """A deadline due on D is overdue from D + 1: "within" includes the due date itself."""
    return due + timedelta(days=1)


class LoggedEvent(BaseModel):
    seq: int
    event_type: str
    occurred_on: date
    payload: dict[str, Any]


class DeadlineView(BaseModel):
    key: str
    kind: str
    due: date
    status: str
    met_on: date | None
    explanation: str


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

    def tags(self) -> list[str]:
        return [
            f"authority:{self.authority}",
            f"team:{self.team or 'unallocated'}",
            f"stage:{self.stage}",
        ]

    def waiting_message(self, today: date) -> str:
        """The Suspended state's message: what the case waits for and when that is due."""
        pending = self.open_deadlines()
        if not pending:
            return f"{self.stage}: waiting for the next record; nothing due"
        first = min(pending, key=lambda d: (d.due, d.key))
        when = (
            f"overdue since {overdue_since(first.due).isoformat()} (due {first.due})"
            if first.due < today
            else f"due {first.due.isoformat()}"
        )
        more = f" (+{len(pending) - 1} more open)" if len(pending) > 1 else ""
        return f"{self.stage}: waiting for {first.kind} ({first.key}), {when}{more}"


# The timeline shows this many recent events, so a run's work per wake-up does not grow with the
# length of the case (DESIGN.md: an event's cost must not grow with the case's history).
TIMELINE_EVENTS = 30


def load_snapshot(engine: Engine, case_ref: str) -> CaseSnapshot:
    with Session(engine) as session:
        case = load_case(session, case_ref)
        window = max(TIMELINE_EVENTS, case.last_seq - case.flow_seq)
        events = [
            LoggedEvent(
                seq=e.seq, event_type=e.event_type, occurred_on=e.occurred_on, payload=e.payload
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
    pending = snapshot.open_deadlines()
    if pending:
        lines += ["| deadline | due | status | why |", "|---|---|---|---|"]
        for d in sorted(pending, key=lambda d: (d.due, d.key)):
            since = overdue_since(d.due)
            status = f"overdue since {since.isoformat()}" if d.due < today else d.status
            lines.append(f"| {d.key} | {d.due.isoformat()} | {status} | {d.explanation} |")
    else:
        lines.append("None.")
    shown = (
        f" (latest {len(snapshot.events)} of {snapshot.last_seq})"
        if snapshot.events and snapshot.events[0].seq > 1
        else ""
    )
    lines += ["", f"## Timeline{shown}", "", "| # | date | event | detail |", "|---|---|---|---|"]
    for e in snapshot.events:
        detail = ", ".join(
            f"{k}={v}" for k, v in e.payload.items() if k in ("outcome", "reason", "source")
        )
        lines.append(f"| {e.seq} | {e.occurred_on.isoformat()} | {e.event_type} | {detail} |")
    closed = [d for d in snapshot.deadlines if d.status not in ("open", "missed")]
    if closed:
        lines += ["", "## Closed deadlines", "", "| deadline | due | status | met on |"]
        lines.append("|---|---|---|---|")
        for d in closed:
            met = d.met_on.isoformat() if d.met_on else ""
            lines.append(f"| {d.key} | {d.due.isoformat()} | {d.status} | {met} |")
    return "\n".join(lines) + "\n"
