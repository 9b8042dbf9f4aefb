"""The outbox's rows and the case columns delivery keeps: which cases are due a delivery or out
of step, and what a delivery attempt writes back. Database only (no Prefect): `tasks/outbox.py`
delivers, `tasks/run_repair.py` repairs runs."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, and_, or_, update
from sqlmodel import Session, col, select

from models.tables import Case, Outbox, utcnow

# a worker's poll leaves a row this young to the process that accepted it (`due_cases`)
SETTLING = timedelta(seconds=2)
# an out-of-step case whose next event was delivered this long ago has lost its run's attention
STUCK = timedelta(seconds=15)
RETRY_BACKOFF = (5, 15, 60, 300)  # seconds between delivery attempts while Prefect is down


def pending_cases(engine: Engine, limit: int = 500) -> list[str]:
    """Cases with outbox rows due for a delivery attempt, oldest first."""
    return due_cases(engine, limit, settle=False)[0]


def due_cases(engine: Engine, limit: int, settle: bool) -> tuple[list[str], set[str]]:
    """`pending_cases`; with `settle` (a worker's poll), a case whose oldest row was accepted
    less than `SETTLING` ago is set apart, left to the process that accepted it, which delivers
    it a moment later (`Ingest.record`): a poll that delivered it too raced that delivery (a
    resume refused, a read of the run) on every busy case."""
    now = utcnow()
    with Session(engine) as session:
        rows = session.exec(
            select(Case.case_ref, Outbox.created_at)
            .join(Case, col(Case.id) == col(Outbox.case_id))
            .where(col(Outbox.delivered_at).is_(None), Outbox.next_attempt_at <= now)
            .order_by(col(Outbox.created_at))
            .limit(limit * 20)
        ).all()
    due: dict[str, None] = {}
    settling: set[str] = set()
    for case_ref, created_at in rows:
        if case_ref in due or case_ref in settling:
            continue
        if settle and _utc(created_at) > now - SETTLING:
            settling.add(case_ref)  # its later rows wait with it
        else:
            due[case_ref] = None
    return list(due)[:limit], settling


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def out_of_step_cases(engine: Engine, limit: int = 500) -> list[str]:
    """Open cases whose run has not handled every event (a lost resume, a crash)."""
    return stuck_cases(engine, limit, patient=False)[0]


def stuck_cases(engine: Engine, limit: int, patient: bool) -> tuple[list[str], int]:
    """`out_of_step_cases`; `patient` (a serving worker's housekeeping): only those whose next
    unhandled event was delivered `STUCK` ago or more, with the number left out: a case whose
    run is working through its events is out of step too, and asking Prefect about each of
    them every housekeeping pass was a read of the run per case, per worker, every 10 s."""
    with Session(engine) as session:
        behind = select(Case.case_ref).where(col(Case.flow_seq) < col(Case.last_seq))
        if not patient:
            return list(session.exec(behind.limit(limit))), 0
        next_row = and_(col(Outbox.case_id) == col(Case.id), col(Outbox.seq) == Case.flow_seq + 1)
        stuck = or_(
            col(Outbox.seq).is_(None),  # no outbox row for it: nothing to tell progress by
            col(Outbox.delivered_at).is_(None),
            col(Outbox.delivered_at) < utcnow() - STUCK,
        )
        rows = session.exec(
            select(Case.case_ref, stuck)
            .outerjoin(Outbox, next_row)
            .where(col(Case.flow_seq) < col(Case.last_seq))
        ).all()
    return [ref for ref, is_stuck in rows if is_stuck][:limit], sum(not s for _, s in rows)


def mark_delivered(engine: Engine, case_id: uuid.UUID, up_to: int) -> int:
    with Session(engine) as session:
        result = session.exec(
            update(Outbox)
            .where(
                col(Outbox.case_id) == case_id,
                col(Outbox.seq) <= up_to,
                col(Outbox.delivered_at).is_(None),
            )
            .values(delivered_at=utcnow())
        )
        session.commit()
        return int(result.rowcount or 0)


def record_failure(engine: Engine, case_id: uuid.UUID, error: str) -> None:
    with Session(engine) as session:
        for row in session.exec(
            select(Outbox).where(Outbox.case_id == case_id, col(Outbox.delivered_at).is_(None))
        ):
            row.attempts += 1
            wait = RETRY_BACKOFF[min(row.attempts, len(RETRY_BACKOFF)) - 1]
            row.next_attempt_at = utcnow() + timedelta(seconds=wait)
            row.last_error = error[:500]
            session.add(row)
        session.commit()


def set_run_id(engine: Engine, case_id: uuid.UUID, run_id: uuid.UUID) -> None:
    with Session(engine) as session:
        case = session.get(Case, case_id)
        assert case is not None
        case.flow_run_id = run_id
        session.add(case)
        session.commit()
