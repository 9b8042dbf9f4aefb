"""The rows one accepted event writes (the case's new state, the event, its deadline and drift
changes, the outbox row), as SQLAlchemy Core statements in the caller's transaction.

Why Core and not the ORM's unit of work: through the HTTP API, flushing these rows as ORM objects
(each built through SQLModel's validation, then sorted, diffed and written by the session) was
most of the CPU an accepted event cost the server (issue 21; docs/http-api.md, Performance). The
rows and their values are the same; only the way they are sent differs. The deadline and drift
rows an event touches are read as model objects the session does not hold, so
`history.apply_changes` and `history.sync_drift` (shared with the rebuild and the bulk import)
decide what changes, and only what they touched is written. The case's locked row is updated in
place, and its object in the session is given the same values without being marked changed: a
later flush writes nothing twice.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session

from models.access.actors import Actor
from models.cases.history import apply_changes, continue_streak, sync_drift
from models.lifecycle import CaseState, DeadlineChange, Event, event_to_dict, state_to_dict
from models.policy.book import AuthorityPolicy
from models.tables import Case, CaseEvent, Deadline, Drift, Outbox, utcnow


def _table(model: Any) -> Table:
    """A model's table: SQLModel sets `__table__` where type checkers cannot see."""
    table: Table = model.__table__
    return table


CASES, EVENTS, DEADLINES, DRIFT, OUTBOX = (
    _table(m) for m in (Case, CaseEvent, Deadline, Drift, Outbox)
)
# what `apply_changes` and `sync_drift` change on a row they did not open
DEADLINE_CHANGED = ("status", "met_on", "closed_seq")
DRIFT_CHANGED = ("status", "closed_seq", "since", "explanation")

# Built once, executed with their parameters: a statement built per call has its clauses coerced
# and its cache key computed each time (most of SQLAlchemy's CPU an event, before)
MOVE_CASE = update(CASES).where(CASES.c.id == bindparam("b_id"))
INSERT_EVENT, INSERT_OUTBOX = insert(EVENTS), insert(OUTBOX)
CHANGED_DEADLINES = select(DEADLINES).where(
    DEADLINES.c.case_id == bindparam("case_id"),
    DEADLINES.c.key.in_(bindparam("keys", expanding=True)),
)
CASE_DRIFT = select(DRIFT).where(DRIFT.c.case_id == bindparam("case_id"))
UPDATE_ROW = {t.name: update(t).where(t.c.id == bindparam("b_id")) for t in (DEADLINES, DRIFT)}


def log_event(
    session: Session,
    case: Case,
    event: Event,
    key: str,
    state: CaseState,
    changes: tuple[DeadlineChange, ...],
    timeline: AuthorityPolicy,
    actor: Actor,
) -> None:
    """Write `event` as the case's next, with the state and deadline changes its transition
    gave; the case's row is locked by the caller (`reads.lock_case`, or new in this session)."""
    connection = session.connection()
    seq, now = case.last_seq + 1, utcnow()
    moved = {"last_seq": seq, "stage": str(state.stage), "state": state_to_dict(state)}
    moved["updated_at"] = now
    connection.execute(MOVE_CASE, {"b_id": case.id, **moved})
    for name, value in moved.items():
        set_committed_value(case, name, value)
    connection.execute(
        INSERT_EVENT,
        {
            "id": uuid.uuid4(),
            "case_id": case.id,
            "seq": seq,
            "idempotency_key": key,
            "event_type": event.type,
            "occurred_on": event.on,
            "payload": event_to_dict(event),
            "recorded_at": now,
            "actor_kind": actor.kind,
            "actor": actor.name,
            "recorded_by": actor.recorded_by,
        },
    )
    keys = [c.key for c in changes]
    deadlines: dict[str, Any] = {}
    if keys:  # an event that changes no deadline reads none
        found = connection.execute(CHANGED_DEADLINES, {"case_id": case.id, "keys": keys})
        deadlines = {row.key: Deadline(**row._mapping) for row in found}
    read = {row.id for row in deadlines.values()}
    touched = apply_changes(deadlines, case_id=case.id, seq=seq, changes=changes)
    _write(session, DEADLINES, touched, read, DEADLINE_CHANGED)
    # every row, resolved ones too: a finding that comes back opens its own row again
    found = connection.execute(CASE_DRIFT, {"case_id": case.id})
    drift = {row.key: Drift(**row._mapping) for row in found}
    read = {row.id for row in drift.values()}
    streak = continue_streak(timeline, state)
    opened = sync_drift(drift, case_id=case.id, seq=seq, state=state, streak=streak)
    _write(session, DRIFT, opened, read, DRIFT_CHANGED)
    connection.execute(INSERT_OUTBOX, outbox_row(case.id, seq, now))


def outbox_row(case_id: Any, seq: int, now: Any) -> dict[str, Any]:
    """A new outbox row's values (event `seq` of the case, to deliver now): the accept
    transaction's insert and the bulk import's batch build it alike."""
    return {
        "id": uuid.uuid4(),
        "case_id": case_id,
        "seq": seq,
        "created_at": now,
        "delivered_at": None,
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": None,
    }


def _write(
    session: Session, table: Table, rows: list[Any], read: set[uuid.UUID], changed: tuple[str, ...]
) -> None:
    """Update the rows touched that were `read` (the columns `changed`); insert the others, in
    one statement (several deadlines open together)."""
    connection = session.connection()
    opened = []
    for row in rows:
        if row.id in read:
            values = {name: getattr(row, name) for name in changed}
            connection.execute(UPDATE_ROW[table.name], {"b_id": row.id, **values})
        else:
            opened.append({c.name: getattr(row, c.name) for c in table.columns})
    if opened:
        connection.execute(insert(table), opened)
