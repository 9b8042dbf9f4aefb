"""Replay open cases through the pure lifecycle under another policy: which deadlines move.

Pure: handed each case's event log and its open deadline rows as they stand, and two policy
timelines; no database, no clock (`today` is an argument). The live rows are the baseline, so an
unchanged policy predicting no move is also a check that a rebuild equals the live state.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from models.lifecycle import Event, EventRefused, rebuild
from models.policy.timescales import PolicyTimeline


@dataclass(frozen=True, slots=True)
class LiveDeadline:
    key: str
    kind: str
    due: date
    escalation_level: int = 0
    reminder_level: int = 0


@dataclass(frozen=True, slots=True)
class OpenCase:
    case_ref: str
    team: str | None
    events: tuple[Event, ...]
    deadlines: tuple[LiveDeadline, ...]  # its open deadline rows now


@dataclass(frozen=True, slots=True)
class Replayed:
    case_ref: str
    team: str | None
    before: tuple[LiveDeadline, ...]  # the live rows
    after: tuple[LiveDeadline, ...]  # as the changed policy would have them (marks carried over)
    refused: str | None = None  # the changed policy could not replay the log (why)

    def moves(self) -> list[tuple[str, str, date, date]]:
        """(key, kind, due now, due then) for each deadline whose due date changes."""
        now = {d.key: d for d in self.before}
        return [
            (d.key, d.kind, now[d.key].due, d.due)
            for d in self.after
            if d.key in now and now[d.key].due != d.due
        ]

    def appeared(self) -> list[str]:
        keys = {d.key for d in self.before}
        return [d.key for d in self.after if d.key not in keys]

    def vanished(self) -> list[str]:
        keys = {d.key for d in self.after}
        return [d.key for d in self.before if d.key not in keys]


def replay(cases: Iterable[OpenCase], changed: PolicyTimeline) -> list[Replayed]:
    return [replay_case(case, changed) for case in cases]


def replay_case(case: OpenCase, changed: PolicyTimeline) -> Replayed:
    try:
        state = rebuild(case.events, changed)
    except EventRefused as refusal:
        return Replayed(case.case_ref, case.team, case.deadlines, case.deadlines, str(refusal))
    marks = {d.key: d for d in case.deadlines}
    after = tuple(
        LiveDeadline(
            d.key,
            d.kind.value,
            d.due,
            marks[d.key].escalation_level if d.key in marks else 0,
            marks[d.key].reminder_level if d.key in marks else 0,
        )
        for d in state.deadlines
    )
    return Replayed(case.case_ref, case.team, case.deadlines, after)


def overdue_on(deadlines: Sequence[LiveDeadline], today: date) -> int:
    return sum(1 for d in deadlines if d.due < today)
