"""A case's derived rows from its event log: the fold `rebuild` and late entries share.

The log is replayed in date order (ties in the order recorded), so an event recorded late (dated
before the case's latest event, which is common in practice) takes its place in the history: the
case is re-derived with the pure state machine, its deadline rows are corrected in place (ids and
the monitor's escalation marks kept), and a deadline the late entry changed says "recorded late on
D". A history the late entry would make illegal is refused (`EventRefused`), and nothing is written.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol, TypeVar

from sqlmodel import Session, select

from models.lifecycle import (
    CaseState,
    DeadlineChange,
    Event,
    EventRefused,
    apply,
    initial_state,
)
from models.lifecycle.drift import CONTINUE_STREAK, drift_findings
from models.policy.book import AuthorityPolicy, PolicyError
from models.tables import Deadline, Drift

Row = TypeVar("Row", Deadline, Drift)


class RowSink(Protocol):
    """Where `correct_rows` adds and deletes rows: a session, or a bulk batch's held case."""

    def add(self, instance: object) -> None: ...

    def delete(self, instance: object) -> None: ...


@dataclass
class Derived:
    state: CaseState = field(default_factory=initial_state)
    deadlines: dict[str, Deadline] = field(default_factory=dict)
    drift: dict[str, Drift] = field(default_factory=dict)


def in_date_order(events: Sequence[tuple[int, Event]]) -> list[tuple[int, Event]]:
    """(seq, event) by the event's date, then the order recorded."""
    return sorted(events, key=lambda pair: (pair[1].on, pair[0]))


def derive(
    events: Sequence[tuple[int, Event]], timeline: AuthorityPolicy, case_id: uuid.UUID
) -> Derived:
    """Fold the lifecycle over `events` in date order; `EventRefused` names the event refused."""
    derived = Derived()
    for seq, event in in_date_order(events):
        transition = apply(derived.state, event, timeline)
        apply_changes(derived.deadlines, case_id=case_id, seq=seq, changes=transition.changes)
        derived.state = transition.state
        sync_drift(
            derived.drift,
            case_id=case_id,
            seq=seq,
            state=derived.state,
            streak=continue_streak(timeline, derived.state),
        )
    return derived


def continue_streak(timeline: AuthorityPolicy, state: CaseState) -> int:
    """The drift rule in force on the case's last review (an engine default unless set)."""
    if state.last_review is None:
        return CONTINUE_STREAK
    try:
        return timeline.on(state.last_review).continue_streak
    except PolicyError:
        return CONTINUE_STREAK


def mark_late(rows: dict[str, Deadline], live: dict[str, Deadline], today: date) -> None:
    """Explain every derived row a late entry changed (or opened) with when it was recorded."""
    for key, row in rows.items():
        before = live.get(key)
        if before is not None and all(
            getattr(before, c) == getattr(row, c) for c in ("due", "status", "met_on", "kind")
        ):
            row.explanation = before.explanation
            continue
        row.explanation = f"{row.explanation}{LATE_NOTE}{today.isoformat()})"


def refuse_late(event: Event, refusal: EventRefused) -> EventRefused:
    return EventRefused(
        f"{event.type} on {event.on.isoformat()} is earlier than the case's latest event; placed "
        f"in date order the history would be illegal: {refusal.reason}"
    )


LATE_NOTE = " (recorded late on "


def _late_note_of(old: object, new: object) -> bool:
    return (
        isinstance(old, str)
        and isinstance(new, str)
        and old.startswith(new)
        and old[len(new) :].startswith(LATE_NOTE)
    )


def sync_drift(
    rows: dict[str, Drift], *, case_id: uuid.UUID, seq: int, state: CaseState, streak: int
) -> list[Drift]:
    """Open the drift the state now shows and resolve what it no longer shows (in `rows`)."""
    touched: list[Drift] = []
    found = {f.key: f for f in drift_findings(state, streak)}
    for key, row in rows.items():
        if row.status == "open" and key not in found:
            row.status = "resolved"
            row.closed_seq = seq
            touched.append(row)
    for key, finding in found.items():
        existing = rows.get(key)
        if existing is not None and existing.status != "open":
            # the same finding back (a plan that went through s47 enquiries and returned): its
            # row opens again, one row a key per case, escalated as far as it had been
            existing.status = "open"
            existing.closed_seq = None
            existing.since = finding.since
            existing.explanation = finding.explanation
            touched.append(existing)
        elif existing is None:
            row = Drift(
                case_id=case_id,
                key=key,
                kind=finding.kind,
                since=finding.since,
                explanation=finding.explanation,
                opened_seq=seq,
            )
            rows[key] = row
            touched.append(row)
        elif existing.explanation != finding.explanation:
            existing.explanation = finding.explanation
            touched.append(existing)
    return touched


def apply_changes(
    rows: dict[str, Deadline],
    *,
    case_id: uuid.UUID,
    seq: int,
    changes: tuple[DeadlineChange, ...],
) -> list[Deadline]:
    """Apply one event's deadline changes to `rows` (by key, in place); the rows it touched."""
    touched: list[Deadline] = []
    for change in changes:
        row = rows.get(change.key)
        if change.action == "open":
            assert change.due is not None and change.kind is not None
            row = Deadline(
                case_id=case_id,
                key=change.key,
                kind=change.kind.value,
                due=change.due,
                policy_ref=change.policy_ref or "",
                explanation=change.explanation or "",
                opened_seq=seq,
            )
            rows[change.key] = row
        elif row is None:
            raise RuntimeError(f"deadline {change.key} is not open on this case")
        else:
            row.status = change.action.value
            row.met_on = change.on if change.action in ("met", "met_late") else None
            row.closed_seq = seq
        touched.append(row)
    return touched


# What a deadline row derives from the log; its id and escalation level are not re-derived.
DEADLINE_COLUMNS = (
    "kind",
    "due",
    "status",
    "policy_ref",
    "explanation",
    "met_on",
    "opened_seq",
    "closed_seq",
)
DRIFT_COLUMNS = ("kind", "since", "status", "explanation", "opened_seq", "closed_seq")


def live_deadlines(session: Session, case_id: uuid.UUID) -> dict[str, Deadline]:
    return {
        row.key: row for row in session.exec(select(Deadline).where(Deadline.case_id == case_id))
    }


def correct(session: Session, case_id: uuid.UUID, derived: Derived) -> bool:
    """Bring the case's deadline and drift rows in line with `derived`; True if they were."""
    live_drift = {
        row.key: row for row in session.exec(select(Drift).where(Drift.case_id == case_id))
    }
    matched = correct_rows(
        session, live_deadlines(session, case_id), derived.deadlines, DEADLINE_COLUMNS
    )
    return correct_rows(session, live_drift, derived.drift, DRIFT_COLUMNS) and matched


def correct_rows(
    session: RowSink, live: dict[str, Row], derived: dict[str, Row], columns: tuple[str, ...]
) -> bool:
    matched = True
    for key in sorted(live.keys() - derived.keys()):
        session.delete(live[key])
        matched = False
    for key, want in derived.items():
        row = live.get(key)
        if row is None:
            session.add(want)
            matched = False
            continue
        for column in columns:
            old, new = getattr(row, column), getattr(want, column)
            if column == "status" and (old, new) == ("missed", "open"):
                continue  # the monitor marked it missed: the log says open, both hold
            if column == "explanation" and _late_note_of(old, new):
                continue  # when a late entry re-derived it is kept, like the monitor's marks
            if old != new:
                setattr(row, column, new)
                session.add(row)
                matched = False
    return matched
