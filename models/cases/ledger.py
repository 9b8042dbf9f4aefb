"""The case's replay and its run's ledger: rebuild from the log, and what the case run records of
the work it has done (`flow_seq`, one `CaseWork` row per event)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from models.cases.history import correct, derive
from models.cases.reads import case_events, lock_case
from models.lifecycle import parse_event, state_to_dict
from models.policy.book import PolicyBook
from models.tables import Case, CaseWork, utcnow


def rebuild(engine: Engine, *, policies: PolicyBook, case_ref: str) -> dict[str, Any]:
    """Replay the log (in date order) into a fresh state and deadlines; report whether the live
    copy agreed.

    Where it did not, the log wins. Deadline rows are corrected in place rather than replaced: a
    row the log still derives keeps its id and its escalation level (the monitor's record of who
    has been told), so a rebuild never starts a manager's alerts over again.
    """
    with Session(engine, expire_on_commit=False) as session:
        case = lock_case(session, case_ref)
        timeline = policies.authority(case.authority)
        history = [(row.seq, parse_event(row.payload)) for row in case_events(session, case.id)]
        derived = derive(history, timeline, case.id)
        deadlines_matched = correct(session, case.id, derived)
        rebuilt = state_to_dict(derived.state)
        state_matched = case.state == rebuilt and case.stage == str(derived.state.stage)
        if not state_matched:
            case.state = rebuilt
            case.stage = str(derived.state.stage)
            case.updated_at = utcnow()
            session.add(case)
        session.commit()
        return {
            "case": case_ref,
            "events": case.last_seq,
            "stage": case.stage,
            "state_matched": state_matched,
            "deadlines_matched": deadlines_matched,
        }


def last_seq(engine: Engine, case_ref: str) -> int:
    """The sequence number of the case's newest accepted event."""
    with Session(engine) as session:
        return int(session.exec(select(Case.last_seq).where(Case.case_ref == case_ref)).one())


def mark_flow_handled(engine: Engine, *, case_ref: str, seq: int) -> None:
    """The case run has done the work for events up to `seq` (never moves backwards)."""
    with Session(engine) as session:
        case = lock_case(session, case_ref)
        if seq > case.flow_seq:
            case.flow_seq = seq
            session.add(case)
        session.commit()


def recorded_work(engine: Engine, *, case_ref: str, seq: int) -> CaseWork | None:
    """The ledger's row for event `seq` of the case, if its work has run."""
    with Session(engine, expire_on_commit=False) as session:
        return session.exec(
            select(CaseWork)
            .join(Case, col(Case.id) == col(CaseWork.case_id))
            .where(Case.case_ref == case_ref, CaseWork.seq == seq)
        ).first()


def record_work(engine: Engine, *, case_ref: str, seq: int, work: str | None) -> int:
    """Write the run's ledger row for event `seq`; returns how many times that work has run."""
    with Session(engine) as session:
        case = lock_case(session, case_ref)
        row = session.exec(
            select(CaseWork).where(CaseWork.case_id == case.id, CaseWork.seq == seq)
        ).first()
        if row is None:
            row = CaseWork(case_id=case.id, seq=seq, work=work)
        else:
            row.attempts += 1
            row.done_at = utcnow()
        session.add(row)
        session.commit()
        return row.attempts
