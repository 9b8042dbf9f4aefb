"""Accepting events: check them against the lifecycle, then log, derive and enqueue at once.

`accept` is the only way an event enters the system. The event row (with its idempotency key), the
case's new state, its deadline changes and an outbox row for the case's flow run commit together,
and only then does the caller hear "accepted". A refused event writes nothing. The same
idempotency key twice returns the first acceptance and writes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import Engine, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from models.drift import drift_findings
from models.fields import FieldRefused, check_case_ref, check_child_ref, check_key, check_team
from models.lifecycle import (
    CaseState,
    DeadlineChange,
    Event,
    EventRefused,
    apply,
    event_to_dict,
    initial_state,
    is_re_referral,
    parse_event,
    state_from_dict,
    state_to_dict,
)
from models.policy import PolicyBook
from models.tables import (
    Authority,
    Case,
    CaseEvent,
    CaseWork,
    Deadline,
    Drift,
    Outbox,
    Staff,
    utcnow,
)

OPENING_EVENTS = ("referral_received", "transfer_in")


class UnknownCase(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class Accepted:
    case_ref: str
    seq: int
    stage: str
    duplicate: bool  # the idempotency key was seen before: nothing was written
    changes: tuple[DeadlineChange, ...] = ()


def sync_authorities(session: Session, *, policies: PolicyBook) -> None:
    """Make sure every authority with a policy file has its row (and case-number counter).

    Every worker and CLI start runs this, so two may run at once on a new database: the loser of
    that race finds its inserts refused as duplicates, and looks again rather than failing.
    """
    for attempt in range(3):
        existing = {a.slug for a in session.exec(select(Authority))}
        missing = [slug for slug in policies.slugs() if slug not in existing]
        for slug in missing:
            authority = policies.authority(slug)
            session.add(
                Authority(
                    slug=slug,
                    name=authority.name,
                    nation=authority.nation.value,
                    case_prefix=authority.policy.prefix,
                )
            )
        try:
            session.commit()
            return
        except IntegrityError:
            session.rollback()
            if attempt == 2:
                raise


def open_case(
    engine: Engine,
    *,
    policies: PolicyBook,
    authority: str,
    child_ref: str,
    event: Event,
    key: str | None = None,
    team: str | None = None,
) -> Accepted:
    """Start a case with its first event (a referral or a transfer in)."""
    if event.type not in OPENING_EVENTS:
        raise EventRefused(
            f"{event.type} refused: a new case starts with referral_received or transfer_in"
        )
    timeline = policies.authority(authority)  # an unknown authority is refused before any write
    check_child_ref(child_ref)
    team = check_team(team)
    key = check_key(key) or f"open:{uuid.uuid4()}"
    with Session(engine, expire_on_commit=False) as session:
        counter = _lock_authority(session, authority)
        _check_roster_team(session, authority, team)
        earlier = session.exec(
            select(Case, CaseEvent)
            .join(CaseEvent, col(CaseEvent.case_id) == col(Case.id))
            .where(Case.authority == authority, Case.child_ref == child_ref)
            .where(CaseEvent.idempotency_key == key)
        ).first()
        if earlier is not None:
            case, logged = earlier
            return Accepted(case.case_ref, logged.seq, case.stage, duplicate=True)
        transition = apply(initial_state(), event, timeline)
        previous = list(
            session.exec(
                select(col(Case.referral_date)).where(
                    Case.authority == authority, Case.child_ref == child_ref
                )
            )
        )
        case = Case(
            case_ref=f"{counter.case_prefix}-{counter.next_case_number:06d}",
            authority=authority,
            child_ref=child_ref,
            team=team,
            stage=str(transition.state.stage),
            referral_date=event.on,
            re_referral=event.type == "referral_received" and is_re_referral(previous, event.on),
            state=state_to_dict(transition.state),
        )
        counter.next_case_number += 1
        session.add(counter)
        session.add(case)
        session.flush()
        _log(session, case, event, key, transition.state, transition.changes)
        session.commit()
        return Accepted(case.case_ref, case.last_seq, case.stage, False, transition.changes)


def record(
    engine: Engine,
    *,
    policies: PolicyBook,
    case_ref: str,
    event: Event,
    key: str | None = None,
) -> Accepted:
    """Append one event to an open case, if its lifecycle allows it from the current stage."""
    check_case_ref(case_ref)
    key = check_key(key) or f"record:{uuid.uuid4()}"
    with Session(engine, expire_on_commit=False) as session:
        case = _lock_case(session, case_ref)
        logged = session.exec(
            select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.idempotency_key == key)
        ).first()
        if logged is not None:
            return Accepted(case.case_ref, logged.seq, case.stage, duplicate=True)
        if event.type in OPENING_EVENTS:
            raise EventRefused(f"{event.type} refused: case {case_ref} is already open")
        timeline = policies.authority(case.authority)
        transition = apply(state_from_dict(case.state), event, timeline)
        _log(session, case, event, key, transition.state, transition.changes)
        session.commit()
        return Accepted(case.case_ref, case.last_seq, case.stage, False, transition.changes)


def _log(
    session: Session,
    case: Case,
    event: Event,
    key: str,
    state: CaseState,
    changes: tuple[DeadlineChange, ...],
) -> None:
    case.last_seq += 1
    case.stage = str(state.stage)
    case.state = state_to_dict(state)
    case.updated_at = utcnow()
    session.add(case)
    session.add(
        CaseEvent(
            case_id=case.id,
            seq=case.last_seq,
            idempotency_key=key,
            event_type=event.type,
            occurred_on=event.on,
            payload=event_to_dict(event),
        )
    )
    apply_deadline_changes(session, case_id=case.id, seq=case.last_seq, changes=changes)
    rows = {
        d.key: d
        for d in session.exec(select(Drift).where(Drift.case_id == case.id, Drift.status == "open"))
    }
    for row in _sync_drift(rows, case_id=case.id, seq=case.last_seq, state=state):
        session.add(row)
    session.add(Outbox(case_id=case.id, seq=case.last_seq))


def _sync_drift(
    rows: dict[str, Drift], *, case_id: uuid.UUID, seq: int, state: CaseState
) -> list[Drift]:
    """Open the drift the state now shows and resolve what it no longer shows (in `rows`)."""
    touched: list[Drift] = []
    found = {f.key: f for f in drift_findings(state)}
    for key, row in rows.items():
        if row.status == "open" and key not in found:
            row.status = "resolved"
            row.closed_seq = seq
            touched.append(row)
    for key, finding in found.items():
        existing = rows.get(key)
        if existing is None or existing.status != "open":
            row = Drift(
                case_id=case_id,
                key=key,
                kind=finding.kind,
                since=finding.since,
                explanation=finding.explanation,
                opened_seq=seq,
            )
            rows[key] = row
            touched.append(row)
        elif existing.explanation != finding.explanation:
            existing.explanation = finding.explanation
            touched.append(existing)
    return touched


def apply_deadline_changes(
    session: Session, *, case_id: uuid.UUID, seq: int, changes: tuple[DeadlineChange, ...]
) -> None:
    if not changes:
        return
    keys = [c.key for c in changes]
    rows = {
        d.key: d
        for d in session.exec(
            select(Deadline).where(Deadline.case_id == case_id, col(Deadline.key).in_(keys))
        )
    }
    for row in _apply_changes(rows, case_id=case_id, seq=seq, changes=changes):
        session.add(row)


def _apply_changes(
    rows: dict[str, Deadline],
    *,
    case_id: uuid.UUID,
    seq: int,
    changes: tuple[DeadlineChange, ...],
) -> list[Deadline]:
    """Apply one event's deadline changes to `rows` (by key, in place); the rows it touched."""
    touched: list[Deadline] = []
    for change in changes:
        row = rows.get(change.key)
        if change.action == "open":
            assert change.due is not None and change.kind is not None
            row = Deadline(
                case_id=case_id,
                key=change.key,
                kind=change.kind.value,
                due=change.due,
                policy_ref=change.policy_ref or "",
                explanation=change.explanation or "",
                opened_seq=seq,
            )
            rows[change.key] = row
        elif row is None:
            raise RuntimeError(f"deadline {change.key} is not open on this case")
        else:
            row.status = change.action.value
            row.met_on = change.on if change.action in ("met", "met_late") else None
            row.closed_seq = seq
        touched.append(row)
    return touched


def _check_roster_team(session: Session, authority: str, team: str | None) -> None:
    """Teams come from the authority's roster (`cin staff import`) once it has one."""
    if team is None:
        return
    query = select(col(Staff.team)).where(Staff.authority == authority, col(Staff.active))
    teams = set(session.exec(query.distinct()))
    teams.discard(None)
    if teams and team not in teams:
        listed = ", ".join(sorted(str(t) for t in teams)[:10])
        raise FieldRefused(f"team: expected one on {authority}'s roster ({listed}); got {team!r}")


def _lock_case(session: Session, case_ref: str) -> Case:
    case = session.exec(select(Case).where(Case.case_ref == case_ref).with_for_update()).first()
    if case is None:
        raise UnknownCase(f"no case {case_ref!r}")
    return case


def _lock_authority(session: Session, slug: str) -> Authority:
    row = session.exec(select(Authority).where(Authority.slug == slug).with_for_update()).first()
    if row is None:
        raise UnknownCase(f"authority {slug!r} has no row: run `cin init` to load the policies")
    return row


# -- reading ----------------------------------------------------------------------------------


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
        .where(col(Deadline.status).in_(("open", "missed")))
    )
    if due_by is not None:
        query = query.where(Deadline.due <= due_by)
    if authority is not None:
        query = query.where(Case.authority == authority)
    return list(session.exec(query.order_by(col(Deadline.due), col(Case.case_ref))))


def count_cases(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(Case)).one())


def rebuild(engine: Engine, *, policies: PolicyBook, case_ref: str) -> dict[str, Any]:
    """Replay the log into a fresh state and deadlines; report whether the live copy agreed.

    Where it did not, the log wins. Deadline rows are corrected in place rather than replaced: a
    row the log still derives keeps its id and its escalation level (the monitor's record of who
    has been told), so a rebuild never starts a manager's alerts over again.
    """
    with Session(engine, expire_on_commit=False) as session:
        case = _lock_case(session, case_ref)
        timeline = policies.authority(case.authority)
        state = initial_state()
        derived: dict[str, Deadline] = {}
        drift: dict[str, Drift] = {}
        for logged in case_events(session, case.id):
            transition = apply(state, parse_event(logged.payload), timeline)
            _apply_changes(derived, case_id=case.id, seq=logged.seq, changes=transition.changes)
            state = transition.state
            _sync_drift(drift, case_id=case.id, seq=logged.seq, state=state)
        deadlines_matched = _correct_deadlines(session, case.id, derived)
        deadlines_matched &= _correct_drift(session, case.id, drift)
        rebuilt = state_to_dict(state)
        state_matched = case.state == rebuilt and case.stage == str(state.stage)
        if not state_matched:
            case.state = rebuilt
            case.stage = str(state.stage)
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


# What a deadline row derives from the log; its id and escalation level are not re-derived.
_DERIVED_COLUMNS = (
    "kind",
    "due",
    "status",
    "policy_ref",
    "explanation",
    "met_on",
    "opened_seq",
    "closed_seq",
)


_DRIFT_COLUMNS = ("kind", "since", "status", "explanation", "opened_seq", "closed_seq")

Row = TypeVar("Row", Deadline, Drift)


def _correct_deadlines(session: Session, case_id: uuid.UUID, derived: dict[str, Deadline]) -> bool:
    """Bring the case's deadline rows in line with `derived`; True if they already were."""
    live = {row.key: row for row in case_deadlines(session, case_id)}
    return _correct_rows(session, live, derived, _DERIVED_COLUMNS)


def _correct_drift(session: Session, case_id: uuid.UUID, derived: dict[str, Drift]) -> bool:
    """As `_correct_deadlines`, for drift rows (escalation levels kept)."""
    live = {row.key: row for row in session.exec(select(Drift).where(Drift.case_id == case_id))}
    return _correct_rows(session, live, derived, _DRIFT_COLUMNS)


def _correct_rows(
    session: Session, live: dict[str, Row], derived: dict[str, Row], columns: tuple[str, ...]
) -> bool:
    matched = True
    for key in sorted(live.keys() - derived.keys()):
        session.delete(live[key])
        matched = False
    for key, want in derived.items():
        row = live.get(key)
        if row is None:
            session.add(want)
            matched = False
            continue
        for column in columns:
            old, new = getattr(row, column), getattr(want, column)
            if column == "status" and (old, new) == ("missed", "open"):
                continue  # the monitor marked it missed: the log says open, both hold
            if old != new:
                setattr(row, column, new)
                session.add(row)
                matched = False
    return matched


def mark_flow_handled(engine: Engine, *, case_ref: str, seq: int) -> None:
    """The case run has done the work for events up to `seq` (never moves backwards)."""
    with Session(engine) as session:
        case = _lock_case(session, case_ref)
        if seq > case.flow_seq:
            case.flow_seq = seq
            session.add(case)
        session.commit()


def record_work(engine: Engine, *, case_ref: str, seq: int, work: str | None) -> int:
    """Write the run's ledger row for event `seq`; returns how many times that work has run."""
    with Session(engine) as session:
        case = _lock_case(session, case_ref)
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
