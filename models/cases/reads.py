"""Reading a case and its rows, and taking a case's row lock (shared by accepting and by the
run's ledger writes)."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import bindparam, func
from sqlmodel import Session, col, select

# defined beside `cin case show`'s read (`show`), which loads no SQLModel; re-exported here
from models.cases.show import UnknownCase as UnknownCase
from models.fields import check_case_ref
from models.tables import Case, CaseEvent, Deadline

# built once: each accepted event runs it (a statement built per call is coerced and keyed anew)
LOCK_CASE = select(Case).where(Case.case_ref == bindparam("case_ref")).with_for_update()


def lock_case(session: Session, case_ref: str) -> Case:
    """The case's row, locked for the rest of the transaction."""
    case = session.exec(LOCK_CASE, params={"case_ref": case_ref}).first()
    if case is None:
        raise UnknownCase(f"no case {case_ref!r}")
    return case


def load_case(session: Session, case_ref: str) -> Case:
    check_case_ref(case_ref)
    case = session.exec(select(Case).where(Case.case_ref == case_ref)).first()
    if case is None:
        raise UnknownCase(f"no case {case_ref!r}")
    return case


def case_deadlines(session: Session, case_id: uuid.UUID) -> list[Deadline]:
    return list(
        session.exec(
            select(Deadline)
            .where(Deadline.case_id == case_id)
            .order_by(col(Deadline.due), col(Deadline.key))
        )
    )


def case_events(session: Session, case_id: uuid.UUID, after_seq: int = 0) -> list[CaseEvent]:
    return list(
        session.exec(
            select(CaseEvent)
            .where(CaseEvent.case_id == case_id, CaseEvent.seq > after_seq)
            .order_by(col(CaseEvent.seq))
        )
    )


def open_deadlines(
    session: Session, *, authority: str | None = None, due_by: date | None = None
) -> list[tuple[Deadline, Case]]:
    """Open deadlines (optionally only those due on or before `due_by`), soonest first."""
    query = (
        select(Deadline, Case)
        .join(Case, col(Case.id) == col(Deadline.case_id))
        .where(col(Deadline.closed_seq).is_(None))  # open or missed
    )
    if due_by is not None:
        query = query.where(Deadline.due <= due_by)
    if authority is not None:
        query = query.where(Case.authority == authority)
    return list(session.exec(query.order_by(col(Deadline.due), col(Case.case_ref))))


def count_cases(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(Case)).one())
