"""Small factories for the store tests: drive a case through the accept path, read back its rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from models.cases.reads import load_case
from models.cases.store import Accepted, open_case, record
from models.lifecycle import Event, ReferralReceived
from models.policy.book import PolicyBook
from models.tables import Case, CaseEvent, Deadline, Outbox

# (key, kind, due, status, met_on) with dates in ISO form, as a reader would write them
Row = tuple[str, str, str, str, str | None]


def d(text: str) -> date:
    return date.fromisoformat(text)


def referral(on: str, source: str = "2A") -> ReferralReceived:
    return ReferralReceived(on=d(on), source=source)


def open_referral(
    engine: Engine,
    book: PolicyBook,
    *,
    authority: str = "redbridge",
    child_ref: str = "child1",
    on: str = "2025-01-06",
    key: str | None = None,
) -> Accepted:
    return open_case(
        engine,
        policies=book,
        authority=authority,
        child_ref=child_ref,
        event=referral(on),
        key=key,
    )


def play(
    engine: Engine,
    book: PolicyBook,
    authority: str,
    events: Sequence[Event],
    *,
    child_ref: str = "child1",
) -> str:
    """Open a case with the first event and record the rest; returns its case reference."""
    first, *rest = events
    opened = open_case(engine, policies=book, authority=authority, child_ref=child_ref, event=first)
    for event in rest:
        record(engine, policies=book, case_ref=opened.case_ref, event=event)
    return opened.case_ref


def deadline_rows(engine: Engine, case_ref: str) -> list[Row]:
    """The case's deadline rows, ordered by the key's family and then its number."""
    with Session(engine) as session:
        case = load_case(session, case_ref)
        rows = session.exec(select(Deadline).where(Deadline.case_id == case.id))
        found = [
            (
                r.key,
                r.kind,
                r.due.isoformat(),
                r.status,
                None if r.met_on is None else r.met_on.isoformat(),
            )
            for r in rows
        ]
    return sorted(found, key=by_key)


def by_key(row: Row) -> tuple[str, int]:
    """Deadline keys in a reader's order: by family, then number ("visit#2" before "visit#10")."""
    family, _, number = row[0].partition("#")
    return family, int(number or 0)


def snapshot(engine: Engine, case_ref: str) -> dict[str, Any]:
    """Everything the accept path writes for one case (every column), plus whole-table counts.

    One session only: on SQLite every transaction takes the write lock at BEGIN (see
    models/database.py), so a second session opened inside the first would wait on it.
    """
    with Session(engine) as session:
        case = load_case(session, case_ref)
        events = session.exec(
            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(col(CaseEvent.seq))
        )
        outbox = session.exec(
            select(Outbox).where(Outbox.case_id == case.id).order_by(col(Outbox.seq))
        )
        deadlines = session.exec(
            select(Deadline).where(Deadline.case_id == case.id).order_by(col(Deadline.key))
        )
        return {
            "case": case.model_dump(),
            "events": [e.model_dump() for e in events],
            "deadlines": [row.model_dump() for row in deadlines],
            "outbox": [o.model_dump() for o in outbox],
            "counts": table_counts(session),
        }


def table_counts(session: Session) -> dict[str, int]:
    return {
        table.__name__: int(session.exec(select(func.count()).select_from(table)).one())
        for table in (Case, CaseEvent, Deadline, Outbox)
    }
