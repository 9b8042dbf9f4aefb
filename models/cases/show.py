"""What `cin case show` reads: a case, its deadlines, its events and which of them still wait in
the outbox, in one transaction through SQLAlchemy Core (`models.core_tables`).

The same rows `reads.load_case`, `case_deadlines` and `case_events` give through SQLModel, in the
same order; reading them without SQLModel and the table models keeps the command's start-up to
SQLAlchemy's own import (issue 20, point 10).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Row, select

from models.core_tables import case_event_table, case_table, deadline_table, outbox_table
from models.fields import check_case_ref


class UnknownCase(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class ShownCase:
    case: Row[Any]  # case_table's columns
    deadlines: list[Row[Any]]  # by due date, then key
    events: list[Row[Any]]  # by sequence number
    undelivered: list[int]  # sequence numbers accepted but not yet delivered to the case's run


def case_to_show(engine: Engine, case_ref: str) -> ShownCase:
    check_case_ref(case_ref)
    with engine.connect() as connection:
        case = connection.execute(
            select(case_table).where(case_table.c.case_ref == case_ref)
        ).first()
        if case is None:
            raise UnknownCase(f"no case {case_ref!r}")
        deadlines = connection.execute(
            select(deadline_table)
            .where(deadline_table.c.case_id == case.id)
            .order_by(deadline_table.c.due, deadline_table.c.key)
        ).all()
        events = connection.execute(
            select(case_event_table)
            .where(case_event_table.c.case_id == case.id)
            .order_by(case_event_table.c.seq)
        ).all()
        undelivered = connection.execute(
            select(outbox_table.c.seq)
            .where(outbox_table.c.case_id == case.id)
            .where(outbox_table.c.delivered_at.is_(None))
            .order_by(outbox_table.c.seq)
        ).scalars()
        return ShownCase(case, list(deadlines), list(events), list(undelivered))
