"""The morning question, "how late is each case, and what is it waiting for?", answered once for
both places it is asked: `cin deadlines --overdue` and the monitor's overdue-cases table in the
Prefect UI (tasks/monitor_work.py), so the two always agree.

A row per overdue deadline: the case, its authority and team, what it waits for (the deadline),
the due date, the working days overdue under the authority's calendar, and the highest rung of
the escalation ladder the monitor has reached for it. Sorted by working days overdue, the
latest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from calendars import WorkingCalendar
from models.cases.reads import open_deadlines
from models.policy.book import PolicyBook, PolicyError
from notifications.ladder import ladder


@dataclass(frozen=True, slots=True)
class OverdueRow:
    case_ref: str
    authority: str
    team: str | None
    key: str  # the deadline: what the case waits for
    kind: str
    due: date
    working_days_overdue: int
    rung: str | None  # the highest rung reached (its role), None before the first
    explanation: str


def overdue_rows(
    session: Session,
    book: PolicyBook,
    as_of: date,
    *,
    authority: str | None = None,
    team: str | None = None,
) -> list[OverdueRow]:
    """Every deadline past due on `as_of` (due before it, still open or missed)."""
    rows: list[OverdueRow] = []
    calendars: dict[str, tuple[WorkingCalendar, tuple[str, ...]]] = {}
    for deadline, case in open_deadlines(session, authority=authority, due_by=as_of):
        if deadline.due >= as_of or (team is not None and case.team != team):
            continue
        if case.authority not in calendars:
            try:
                policy = book.authority(case.authority).on(as_of)
            except PolicyError:
                continue  # a case of an authority no longer loaded: `cin policy` says why
            roles = tuple(step.role.value for step in ladder(policy))
            calendars[case.authority] = (policy.calendar, roles)
        calendar, roles = calendars[case.authority]
        level = deadline.escalation_level
        rows.append(
            OverdueRow(
                case_ref=case.case_ref,
                authority=case.authority,
                team=case.team,
                key=deadline.key,
                kind=deadline.kind,
                due=deadline.due,
                working_days_overdue=calendar.working_days_between(deadline.due, as_of),
                rung=roles[min(level, len(roles)) - 1] if level > 0 and roles else None,
                explanation=deadline.explanation,
            )
        )
    rows.sort(key=lambda r: (-r.working_days_overdue, r.due, r.case_ref, r.key))
    return rows
