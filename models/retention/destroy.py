"""Destroying one child's record (`cin retention apply`), crash safe.

The database part is one transaction per child: every row `models.access.record.LINKS` links to
the child is deleted (the access log keeps its rows, without the child's reference: who looked
at a case stays known, not whose case it was), and a `destruction_log` row is written holding a
one-way hash of the reference, the rule and the dates. A kill -9 leaves the child whole or gone.

The Prefect part (the child's case runs and their artifacts) cannot join that transaction: the
row lists it in `prefect_pending`, and `finish_pending` deletes it and empties the list, on this
run or the next. The list holds the case references until then (pseudonymous: they name no
child once the case rows are gone) and nothing after.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine, Table, delete, exists, select, text, update
from sqlmodel import Session, SQLModel, col

from models.access.holds import held
from models.access.record import LINKS
from models.policy.retention import Retention
from models.retention.plan import judge
from models.tables import Case, CaseEvent, Child, DestructionLog, utcnow

Pending = list[dict[str, str]]


@dataclass(frozen=True)
class Destroyed:
    log_id: str
    cases: int
    events: int
    pending: Pending


def child_hash(salt: str, authority: str, child_ref: str) -> str:
    """SHA-256 of the reference, salted with this database's instance id: the same child gives
    the same hash here (so "was this child's record destroyed?" can be answered), and the log
    alone names nobody."""
    return hashlib.sha256(f"{salt}\x00{authority}\x00{child_ref}".encode()).hexdigest()


def _salt(session: Session) -> str:
    value = session.execute(text("SELECT id FROM engine_instance")).scalar_one()
    return uuid.UUID(str(value)).hex  # one spelling on SQLite (hex text) and PostgreSQL (uuid)


def destroy_child(
    engine: Engine,
    *,
    authority: str,
    child_ref: str,
    retention: Retention,
    as_of: date,
    by: str,
) -> Destroyed | None:
    """Destroy the child's record if, judged again inside the transaction, it is still due."""
    meta = SQLModel.metadata.tables
    with Session(engine) as session:
        if engine.dialect.name == "sqlite":  # deleted bytes are overwritten, not left free
            session.connection().exec_driver_sql("PRAGMA secure_delete = ON")
        cases = list(
            session.execute(
                select(Case)
                .where(col(Case.authority) == authority, col(Case.child_ref) == child_ref)
                .with_for_update()
            ).scalars()
        )
        ids = [c.id for c in cases]
        birth = session.execute(
            select(col(Child.birth_date)).where(
                col(Child.authority) == authority, col(Child.child_ref) == child_ref
            )
        ).scalar_one_or_none()
        last = (
            session.execute(
                select(col(CaseEvent.occurred_on))
                .where(col(CaseEvent.case_id).in_(ids))
                .order_by(col(CaseEvent.occurred_on).desc())
                .limit(1)
            ).scalar_one_or_none()
            if ids
            else None
        )
        open_cases = sum(1 for c in cases if c.stage != "closed")
        verdict, due_on, _ = judge(
            retention,
            as_of=as_of,
            is_held=child_ref in held(session, authority),
            open_cases=open_cases,
            birth_date=birth,
            last_closure=last if cases and not open_cases else None,
        )
        if verdict != "due" or due_on is None:
            return None  # changed since the plan: a hold, a new referral
        refs = [c.case_ref for c in cases]
        events = session.execute(
            select(text("count(*)"))
            .select_from(meta["case_event"])
            .where(meta["case_event"].c.case_id.in_(ids))
        ).scalar_one()
        _delete_rows(session, authority=authority, child_ref=child_ref, ids=ids, refs=refs)
        pending = [{"case_ref": c.case_ref, "flow_run_id": str(c.flow_run_id or "")} for c in cases]
        entry = DestructionLog(
            authority=authority,
            child_hash=child_hash(_salt(session), authority, child_ref),
            rule=retention.describe()[:300],
            due_on=due_on,
            as_of=as_of,
            destroyed_by=by[:200],
            cases=len(cases),
            events=int(events),
            prefect_pending=pending,
            prefect_done_at=None if pending else utcnow(),
        )
        session.add(entry)
        session.commit()
        return Destroyed(str(entry.id), len(cases), int(events), pending)


def _delete_rows(
    session: Session, *, authority: str, child_ref: str, ids: list[object], refs: list[str]
) -> None:
    """Every table `LINKS` names, in an order the foreign keys allow."""
    meta = SQLModel.metadata.tables
    order = {"case_id": 0, "case_ref": 1, "alert_dispatch": 2, "audit": 3, "child": 4}
    alert = meta["alert"]
    carried = [
        r[0]
        for r in session.execute(
            select(alert.c.dispatch_id).where(alert.c.case_ref.in_(refs)).distinct()
        )
        if r[0] is not None
    ]
    for name, link in sorted(LINKS.items(), key=lambda item: (order[item[1]], item[0] == "case")):
        table: Table = meta[name]
        if link == "case_id":
            session.execute(delete(table).where(table.c.case_id.in_(ids)))
        elif link == "case_ref":
            session.execute(delete(table).where(table.c.case_ref.in_(refs)))
        elif link == "alert_dispatch":  # the messages that carried only this child's alerts
            still = exists().where(alert.c.dispatch_id == table.c.id)
            session.execute(delete(table).where(table.c.id.in_(carried), ~still))
        elif link == "audit":  # who looked stays; whose record it was does not
            named = (table.c.authority == authority) & (table.c.child_ref == child_ref)
            session.execute(update(table).where(named).values(child_ref=None))
        else:
            mine = (table.c.authority == authority) & (table.c.child_ref == child_ref)
            session.execute(delete(table).where(mine))


def pending_rows(engine: Engine) -> list[DestructionLog]:
    with Session(engine) as session:
        query = select(DestructionLog).where(col(DestructionLog.prefect_done_at).is_(None))
        return list(session.execute(query).scalars())


def finish_pending(engine: Engine, forget: Callable[[Pending], None]) -> int:
    """Delete on Prefect what each destroyed record left there (`forget`), then empty its list.
    `forget` is idempotent (deleting what is gone already is fine), so a crash between the two
    repeats it harmlessly. Returns how many records were finished."""
    done = 0
    for row in pending_rows(engine):
        forget(list(row.prefect_pending))
        with Session(engine) as session:
            session.execute(
                update(DestructionLog)
                .where(col(DestructionLog.id) == row.id)
                .values(prefect_pending=[], prefect_done_at=utcnow())
            )
            session.commit()
        done += 1
    return done


def compact(engine: Engine) -> None:
    """Give back the space the deleted rows held. SQLite: VACUUM rewrites the file, and the
    write-ahead log is truncated, so no deleted byte stays in either. PostgreSQL: VACUUM makes
    the dead rows' space free (see docs/child-record.md for what stays until VACUUM FULL)."""
    if engine.dialect.name == "sqlite":
        # outside SQLAlchemy's transaction (the engine BEGINs IMMEDIATE on every connection use,
        # and VACUUM refuses to run inside a transaction)
        raw = engine.raw_connection()
        try:
            sqlite = raw.driver_connection
            previous = sqlite.isolation_level  # type: ignore[union-attr]
            sqlite.isolation_level = None  # type: ignore[union-attr]
            try:
                sqlite.execute("VACUUM")  # type: ignore[union-attr]
                sqlite.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
            finally:
                sqlite.isolation_level = previous  # type: ignore[union-attr]
        finally:
            raw.close()
        return
    names = sorted(set(LINKS) | {"destruction_log"})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for name in names:
            connection.exec_driver_sql(f'VACUUM "{name}"')
