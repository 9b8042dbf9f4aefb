"""Read an authority's live caseload for `cin policy whatif`: two queries, nothing written.

The open cases' event logs (one ordered scan) and their open deadline rows with the monitor's
marks. The connection's transaction is rolled back, so the database is left as it was found.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import Engine
from sqlmodel import col, select

from models.lifecycle import Event, parse_event
from models.tables import Case, CaseEvent, Deadline
from models.whatif.replay import LiveDeadline, OpenCase


def load_open_cases(engine: Engine, authority: str) -> list[OpenCase]:
    open_case = (col(Case.authority) == authority) & (col(Case.stage) != "closed")
    with engine.connect() as conn:
        try:
            cases = conn.execute(
                select(col(Case.id), col(Case.case_ref), col(Case.team))
                .where(open_case)
                .order_by(col(Case.case_ref))
            ).all()
            events: dict[uuid.UUID, list[Event]] = defaultdict(list)
            for case_id, payload in conn.execute(
                select(col(CaseEvent.case_id), col(CaseEvent.payload))
                .join(Case, col(Case.id) == col(CaseEvent.case_id))
                .where(open_case)
                .order_by(col(CaseEvent.case_id), col(CaseEvent.seq))
            ):
                events[_uuid(case_id)].append(parse_event(payload))
            deadlines: dict[uuid.UUID, list[LiveDeadline]] = defaultdict(list)
            rows = conn.execute(
                select(  # type: ignore[call-overload]
                    col(Deadline.case_id),
                    col(Deadline.key),
                    col(Deadline.kind),
                    col(Deadline.due),
                    col(Deadline.escalation_level),
                    col(Deadline.reminder_level),
                )
                .join(Case, col(Case.id) == col(Deadline.case_id))
                .where(open_case, col(Deadline.closed_seq).is_(None))
            )
            for case_id, key, kind, due, level, reminder in rows:
                deadlines[_uuid(case_id)].append(LiveDeadline(key, kind, due, level, reminder))
        finally:
            conn.rollback()
    return [
        OpenCase(
            case_ref,
            team,
            tuple(events[_uuid(case_id)]),
            tuple(sorted(deadlines[_uuid(case_id)], key=lambda d: d.key)),
        )
        for case_id, case_ref, team in cases
    ]


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
