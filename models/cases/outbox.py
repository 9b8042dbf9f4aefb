"""The outbox's rows and the case columns delivery keeps: which cases are due a delivery or out
of step, and what a delivery attempt writes back. Database only (no Prefect): `tasks/outbox.py`
delivers, `tasks/run_repair.py` repairs runs."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, Engine, and_, func, or_, update
from sqlmodel import Session, col, select

from models.tables import Case, Outbox, utcnow

# a worker's poll leaves a row this young to the process that accepted it (`due_cases`)
SETTLING = timedelta(seconds=2)
# an out-of-step case whose next event was delivered this long ago has lost its run's attention
STUCK = timedelta(seconds=15)
RETRY_BACKOFF = (5, 15, 60, 300)  # seconds between delivery attempts while Prefect is down


def pending_cases(
    engine: Engine, limit: int = 500, create: Callable[[], int] | None = None
) -> list[str]:
    """Cases with outbox rows due for a delivery attempt, oldest first (`due_cases`)."""
    return due_cases(engine, limit, settle=False, create=create).cases


@dataclass
class Due:
    """A delivery pass's cases: `cases` to deliver now, `settling` (left to their accepter) and
    `deferred`, cases still without a run left in the outbox for a later pass (`create`)."""

    cases: list[str] = field(default_factory=list)
    settling: set[str] = field(default_factory=set)
    deferred: int = 0


def due_cases(
    engine: Engine, limit: int, settle: bool, create: Callable[[], int] | None = None
) -> Due:
    """Cases due a delivery attempt, oldest first; with `settle` (a worker's poll), a case whose
    oldest row was accepted less than `SETTLING` ago is set apart, left to the process that
    accepted it, which delivers it a moment later (`Ingest.record`): a poll that delivered it
    too raced that delivery (a resume refused, a read of the run) on every busy case.

    `create` (a worker's or the reconciler's pass): at most that many of the cases that have no
    run yet (asked only when there are such cases), the rest `deferred`.
    Delivering to a case without a run creates its run, queued for a worker; after a go-live
    import that is every case, and creating them all at once put the whole caseload in
    Prefect's queue (every run Scheduled), which each worker poll and Prefect's late-runs
    service then walked while the threads could take a few at a time (docs/scale-out.md:
    19,800 runs made in 39 minutes, 16,011 still Scheduled an hour in). The outbox is the
    queue: the cases that have a run (a resume, cheap and due now) come first."""
    now = utcnow()
    due = Due()
    with Session(engine) as session:
        _take(_due_rows(session, now, True, limit), limit, settle, now, due)
        rows = _due_rows(session, now, False, 1)
    if not rows:
        return due
    made = len(due.cases)
    budget = None if create is None else create()  # its own session (SQLite: one writer)
    room = max(0, limit - made if budget is None else min(budget, limit - made))
    if room > 1:
        with Session(engine) as session:
            rows = _due_rows(session, now, False, room + 1)
    if create is not None:
        rows = _shuffled(rows)
    left = _take(rows, made + room, settle, now, due)
    if create is not None:
        due.deferred = left
    return due


def _due_rows(
    session: Session, now: datetime, with_run: bool, cases: int
) -> Sequence[tuple[str, datetime]]:
    """Due outbox rows (case, accepted at), oldest first, of cases with (or without) a run;
    enough rows for `cases` cases of a few events each."""
    has_run = col(Case.flow_run_id).is_not(None) if with_run else col(Case.flow_run_id).is_(None)
    return session.exec(
        select(Case.case_ref, Outbox.created_at)
        .join(Case, col(Case.id) == col(Outbox.case_id))
        .where(col(Outbox.delivered_at).is_(None), Outbox.next_attempt_at <= now, has_run)
        .order_by(col(Outbox.created_at))
        .limit(cases * 20)
    ).all()


def _shuffled(rows: Sequence[tuple[str, datetime]]) -> list[tuple[str, datetime]]:
    """The rows' cases (each with its oldest row) in a random order: several workers making
    the runs of a go-live import each take a few of the oldest cases, and in the same order
    they took the same ones, two `create_flow_run` requests a case (1.9 a case at 1,000 cases
    with two workers; the idempotency key kept one run)."""
    oldest: dict[str, datetime] = {}
    for case_ref, created_at in rows:
        oldest.setdefault(case_ref, created_at)
    cases = list(oldest.items())
    random.shuffle(cases)
    return cases


def _take(
    rows: Sequence[tuple[str, datetime]], limit: int, settle: bool, now: datetime, due: Due
) -> int:
    """Add the rows' cases to `due` up to `limit` cases; the number of due cases left over."""
    left: set[str] = set()
    taken = set(due.cases)  # a set beside the list: up to 10,000 rows a pass are looked up
    for case_ref, created_at in rows:
        if case_ref in due.settling or case_ref in taken or case_ref in left:
            continue
        if settle and _utc(created_at) > now - SETTLING:
            due.settling.add(case_ref)  # its later rows wait with it
        elif len(due.cases) < limit:
            due.cases.append(case_ref)
            taken.add(case_ref)
        else:
            left.add(case_ref)
    return len(left)


def runs_in_flight(engine: Engine) -> int:
    """Open cases whose run is made and behind the case's log, and was created or woken under
    `STUCK` ago: the runs queued for a worker or being worked on (after `STUCK`, a case is the
    out-of-step pass's, and no longer holds back the making of new runs)."""
    with Session(engine) as session:
        return int(
            session.exec(
                select(func.count()).select_from(Case).join(Outbox, _next_row()).where(_in_flight())
            ).one()
        )


def in_flight_among(engine: Engine, case_ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """Those of these cases whose runs are in flight (`runs_in_flight`)."""
    if not case_ids:
        return set()
    with Session(engine) as session:
        return set(
            session.exec(
                select(Case.id)
                .join(Outbox, _next_row())
                .where(_in_flight(), col(Case.id).in_(list(case_ids)))
            ).all()
        )


def _in_flight() -> ColumnElement[bool]:
    return and_(
        col(Case.flow_seq) < col(Case.last_seq),
        col(Case.flow_run_id).is_not(None),
        col(Outbox.delivered_at) >= utcnow() - STUCK,
    )


def _next_row() -> ColumnElement[bool]:
    return and_(col(Outbox.case_id) == col(Case.id), col(Outbox.seq) == Case.flow_seq + 1)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def out_of_step_cases(engine: Engine, limit: int = 500) -> list[str]:
    """Open cases whose run has not handled every event (a lost resume, a crash)."""
    return stuck_cases(engine, limit, patient=False)[0]


def stuck_cases(engine: Engine, limit: int, patient: bool) -> tuple[list[str], int]:
    """`out_of_step_cases`; `patient` (a serving worker's housekeeping): only those whose next
    unhandled event was delivered `STUCK` ago or more, with the number left out: a case whose
    run is working through its events is out of step too, and asking Prefect about each of
    them every housekeeping pass was a read of the run per case, per worker, every 10 s.

    A case with no run whose next event is still in the outbox is the outbox's (`due_cases`,
    which makes runs a few at a time), not out of step: looked at here, every case of a go-live
    import had its run made by the first housekeeping pass, 500 at a time."""
    waiting_for_a_run = and_(
        col(Case.flow_run_id).is_(None),
        col(Outbox.seq).is_not(None),
        col(Outbox.delivered_at).is_(None),
    )
    behind = and_(col(Case.flow_seq) < col(Case.last_seq), ~waiting_for_a_run)
    with Session(engine) as session:
        if not patient:
            query = select(Case.case_ref).outerjoin(Outbox, _next_row()).where(behind)
            return list(session.exec(query.limit(limit))), 0
        stuck = or_(
            col(Outbox.seq).is_(None),  # no outbox row for it: nothing to tell progress by
            col(Outbox.delivered_at).is_(None),
            col(Outbox.delivered_at) < utcnow() - STUCK,
        )
        rows = session.exec(
            select(Case.case_ref, stuck).outerjoin(Outbox, _next_row()).where(behind)
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


def open_case_runs(engine: Engine) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """(case id, run id) of every open case that has a run."""
    with Session(engine) as session:
        rows = session.exec(
            select(Case.id, Case.flow_run_id).where(
                col(Case.stage) != "closed", col(Case.flow_run_id).is_not(None)
            )
        ).all()
    return [(case_id, run_id) for case_id, run_id in rows if run_id is not None]


def hand_back_lost_runs(engine: Engine, lost: Sequence[tuple[uuid.UUID, uuid.UUID]]) -> int:
    """The Prefect server no longer knows these open cases' runs (it lost its database): each
    case goes back to the outbox as a go-live import leaves it, without a run and behind by its
    last event (or from the first event its lost run had not handled), that event's row due
    again. The workers then make the runs a few at a time (`due_cases`, `runs_in_flight`), where
    making them all at once put every open case in Prefect's queue for the better part of an
    hour at a council's size (docs/faults.md). The new run does that event's work
    again only where the ledger does not hold it (tasks/case_work.py), and its Prefect side
    (labels, timeline, events), which went with the server. A case whose run changed meanwhile
    (another worker noticed the loss too, and already made its run) is left as it is. Returns
    the cases handed back."""
    handed = 0
    now = utcnow()
    for start in range(0, len(lost), 500):
        batch = dict(lost[start : start + 500])
        with Session(engine) as session:
            cases = session.exec(
                select(Case).where(col(Case.id).in_(list(batch))).with_for_update()
            ).all()
            due: dict[uuid.UUID, int] = {}
            for case in cases:
                if case.flow_run_id != batch[case.id] or case.stage == "closed":
                    continue
                case.flow_run_id = None
                case.flow_seq = min(case.flow_seq, case.last_seq - 1)
                due[case.id] = case.flow_seq + 1
                session.add(case)
            rows = session.exec(
                select(Outbox).where(
                    col(Outbox.case_id).in_(list(due)), col(Outbox.seq).in_(set(due.values()))
                )
            ).all()
            reopened: set[uuid.UUID] = set()
            for row in rows:
                if due.get(row.case_id) == row.seq:  # the query pairs every case with every seq
                    row.delivered_at, row.next_attempt_at, row.attempts = None, now, 0
                    session.add(row)
                    reopened.add(row.case_id)
            for case_id in due.keys() - reopened:
                session.add(Outbox(case_id=case_id, seq=due[case_id], created_at=now))
            session.commit()
        handed += len(due)
    return handed
