"""What `cin retention plan` lists: each child of a council, when its record falls due for
destruction under the council's rule, and whether it is held, open or due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from sqlalchemy import func
from sqlmodel import Session, col, select

from models.access.holds import held
from models.policy.retention import Retention
from models.tables import Case, CaseEvent, Child

Verdict = Literal["due", "held", "open", "not-yet", "unknown"]


@dataclass(frozen=True)
class PlanRow:
    child_ref: str
    case_refs: tuple[str, ...]
    verdict: Verdict
    due_on: date | None
    why: str

    @property
    def destroy(self) -> bool:
        return self.verdict == "due"


def judge(
    retention: Retention,
    *,
    as_of: date,
    is_held: bool,
    open_cases: int,
    birth_date: date | None,
    last_closure: date | None,
) -> tuple[Verdict, date | None, str]:
    """The verdict on one child's record (pure): a hold or an open case keeps it whatever dates."""
    due_on = retention.due_on(birth_date=birth_date, last_closure=last_closure)
    counted = f"{retention.rule.years} years from " + (
        "the date of birth" if retention.rule.basis == "date_of_birth" else "the last closure"
    )
    when = f"due {due_on.isoformat()} ({counted})" if due_on else counted
    if is_held:
        return "held", due_on, f"a legal hold is in force; {when}"
    if open_cases:
        return "open", due_on, f"{open_cases} case(s) still open"
    if due_on is None:
        missing = (
            "no date of birth recorded"
            if retention.rule.basis == "date_of_birth"
            else ("no closure recorded")
        )
        return "unknown", None, f"{missing}: kept (nothing to count {counted} from)"
    if due_on <= as_of:
        return "due", due_on, when
    return "not-yet", due_on, when


def retention_plan(
    session: Session, *, authority: str, retention: Retention, as_of: date
) -> list[PlanRow]:
    """Every child of `authority` (with cases or details), judged on `as_of`."""
    cases: dict[str, list[tuple[str, str]]] = {}
    for child_ref, case_ref, stage in session.exec(
        select(Case.child_ref, Case.case_ref, Case.stage)
        .where(Case.authority == authority)
        .order_by(col(Case.case_ref))
    ):
        cases.setdefault(child_ref, []).append((case_ref, stage))
    births = dict(
        session.exec(
            select(Child.child_ref, col(Child.birth_date)).where(Child.authority == authority)
        ).all()
    )
    # the last closure: the date of the last event of the child's cases (an event after a
    # case's closure is refused, so with every case closed this is the last one's closure)
    last = dict(
        session.exec(
            select(Case.child_ref, func.max(CaseEvent.occurred_on))
            .join(CaseEvent, col(CaseEvent.case_id) == col(Case.id))
            .where(Case.authority == authority)
            .group_by(col(Case.child_ref))
        ).all()
    )
    holds = held(session, authority)
    rows = []
    for child_ref in sorted(set(cases) | set(births)):
        mine = cases.get(child_ref, [])
        open_cases = sum(1 for _, stage in mine if stage != "closed")
        verdict, due_on, why = judge(
            retention,
            as_of=as_of,
            is_held=child_ref in holds,
            open_cases=open_cases,
            birth_date=births.get(child_ref),
            last_closure=last.get(child_ref) if mine and not open_cases else None,
        )
        rows.append(PlanRow(child_ref, tuple(c for c, _ in mine), verdict, due_on, why))
    return rows
