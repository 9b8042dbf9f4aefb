"""Accepting events: check them against the lifecycle, then log, derive and enqueue at once.

`accept` is the only way an event enters the system. The event row (with its idempotency key), the
case's new state, its deadline changes and an outbox row for the case's flow run commit together,
and only then does the caller hear "accepted". A refused event writes nothing. The same
idempotency key twice returns the first acceptance and writes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import wraps
from typing import Any, Concatenate, ParamSpec, Protocol

from sqlalchemy import Engine, bindparam, func
from sqlalchemy import case as sql_case
from sqlalchemy import select as select_columns  # sqlmodel's `select` takes up to four
from sqlmodel import Session, col, select

from models.access.actors import Actor, check_recorded_by
from models.cases.history import (
    correct,
    derive,
    live_deadlines,
    mark_late,
    refuse_late,
)
from models.cases.numbering import provisional_ref, serialise_child, share_authority, take_number
from models.cases.reads import UnknownCase, case_events, lock_case
from models.cases.written import log_event
from models.fields import FieldRefused, check_case_ref, check_child_ref, check_key, check_team
from models.lifecycle import (
    DeadlineChange,
    Event,
    EventRefused,
    Transition,
    apply,
    event_to_dict,
    initial_state,
    is_re_referral,
    parse_event,
    state_from_dict,
    state_to_dict,
)
from models.policy.book import AuthorityPolicy, PolicyBook
from models.tables import (
    Authority,
    Case,
    CaseEvent,
    Outbox,
    Staff,
    utcnow,
)

OPENING_EVENTS = ("referral_received", "transfer_in")
# one read for two questions: the case's latest event date, and the event holding `key` (built
# once: a statement built per call is coerced and keyed anew, each accepted event)
LATEST_AND_KEYED = select(
    func.max(CaseEvent.occurred_on),
    func.max(sql_case((col(CaseEvent.idempotency_key) == bindparam("key"), col(CaseEvent.seq)))),
).where(CaseEvent.case_id == bindparam("case_id"))
# one read for an opening's three questions about the child's cases in this authority: did one
# log `key`, is one open, which were opened by a referral (each was a statement of its own,
# built per call; built once, as above)
CHILD_CASES = select_columns(
    col(Case.id),
    col(Case.case_ref),
    col(Case.stage),
    col(Case.referral_date),
    select(col(CaseEvent.event_type))
    .where(CaseEvent.case_id == Case.id, CaseEvent.seq == 1)
    .scalar_subquery()
    .label("first_type"),
    select(col(CaseEvent.seq))
    .where(CaseEvent.case_id == Case.id, CaseEvent.idempotency_key == bindparam("key"))
    .scalar_subquery()
    .label("keyed_seq"),
).where(
    col(Case.authority) == bindparam("authority"), col(Case.child_ref) == bindparam("child_ref")
)
P = ParamSpec("P")


class KeyReused(EventRefused):
    """The idempotency key was used before with another event (HTTP 409)."""


@dataclass(frozen=True)
class Accepted:
    case_ref: str
    seq: int
    stage: str
    duplicate: bool  # the idempotency key was seen before: nothing was written
    changes: tuple[DeadlineChange, ...] = ()


def sync_authorities(session: Session, *, policies: PolicyBook) -> None:
    """Make sure every authority with a policy file has its row (and case-number counter).

    Every worker and CLI start runs this, so two may run at once on a new database: each insert
    is `ON CONFLICT DO NOTHING`, so the loser of that race finds the rows there and goes on (a
    refused batch insert made psycopg print "error ignored terminating Pipeline" to stderr).
    """
    existing = {a.slug for a in session.exec(select(Authority))}
    missing = [slug for slug in policies.slugs() if slug not in existing]
    if not missing:
        return
    rows = []
    for slug in missing:
        authority = policies.authority(slug)
        rows.append(
            {
                "slug": slug,
                "name": authority.name,
                "nation": authority.nation.value,
                "case_prefix": authority.policy.prefix,
                "next_case_number": 1,
            }
        )
    from sqlalchemy.dialects import postgresql, sqlite

    on_postgresql = session.get_bind().dialect.name == "postgresql"
    for row in rows:  # one statement each: no executemany pipeline to abort
        if on_postgresql:
            session.execute(postgresql.insert(Authority).values(**row).on_conflict_do_nothing())
        else:
            session.execute(sqlite.insert(Authority).values(**row).on_conflict_do_nothing())
    session.commit()


def new_case(
    case_ref: str,
    authority: str,
    child_ref: str,
    team: str | None,
    event: Event,
    transition: Transition,
    previous: list[date],
) -> Case:
    """The row of a case `event` opens; `previous` are the child's earlier referral dates (a
    re-referral within 12 months is marked)."""
    return Case(
        case_ref=case_ref,
        authority=authority,
        child_ref=child_ref,
        team=team,
        stage=str(transition.state.stage),
        referral_date=event.on,
        re_referral=event.type == "referral_received" and is_re_referral(previous, event.on),
        state=state_to_dict(transition.state),
    )


def open_case_in(
    session: Session,
    *,
    policies: PolicyBook,
    authority: str,
    child_ref: str,
    event: Event,
    key: str | None = None,
    team: str | None = None,
    today: date | None = None,
    actor: Actor | None = None,
) -> Accepted:
    """Start a case with its first event (a referral or a transfer in), in `session`'s
    transaction: the caller commits (and may write its own rows, as the HTTP API's idempotency
    and access-log rows, in the same commit).

    Refused: a child who already has an open case in this authority (the message names that
    case), an event dated after `today`, and an idempotency key already used for another event.
    The checks are serial per child; the case number is taken last (`models.cases.numbering`).
    """
    if event.type not in OPENING_EVENTS:
        raise EventRefused(
            f"{event.type} refused: a new case starts with referral_received or transfer_in"
        )
    _refuse_future(event, today)
    timeline = policies.authority(authority)  # an unknown authority is refused before any write
    check_child_ref(child_ref)
    team = check_team(team)
    key = check_key(key) or f"open:{uuid.uuid4()}"
    share_authority(session, authority)
    serialise_child(session, authority, child_ref)
    _check_roster_team(session, authority, team)
    actor = _checked_actor(session, authority, actor)
    cases = session.connection().execute(
        CHILD_CASES, {"authority": authority, "child_ref": child_ref, "key": key}
    )
    child_cases = cases.all()
    earlier = next((c for c in child_cases if c.keyed_seq is not None), None)
    if earlier is not None:
        logged = session.exec(
            select(CaseEvent).where(
                CaseEvent.case_id == earlier.id, CaseEvent.seq == earlier.keyed_seq
            )
        ).one()
        _same_event(logged, event, key)
        return Accepted(earlier.case_ref, logged.seq, earlier.stage, duplicate=True)
    still_open = next((c.case_ref for c in child_cases if c.stage != "closed"), None)
    if still_open is not None:
        raise EventRefused(
            f"{event.type} refused: the child already has an open case, {still_open}; "
            "record this on it, or close it first"
        )
    transition = apply(initial_state(), event, timeline)
    # earlier cases of the child opened by a referral: a transfer in is not a referral, so
    # a referral after one is not a re-referral (DfE: "within 12 months of a previous
    # referral")
    previous = [c.referral_date for c in child_cases if c.first_type == "referral_received"]
    case = new_case(provisional_ref(), authority, child_ref, team, event, transition, previous)
    session.add(case)
    session.flush()
    log_event(session, case, event, key, transition.state, transition.changes, timeline, actor)
    case_ref = take_number(session, authority, case)
    return Accepted(case_ref, case.last_seq, case.stage, False, transition.changes)


def record_in(
    session: Session,
    *,
    policies: PolicyBook,
    case_ref: str,
    event: Event,
    key: str | None = None,
    today: date | None = None,
    actor: Actor | None = None,
    authority: str | None = None,
) -> Accepted:
    """Append one event to an open case, if its lifecycle allows it, in `session`'s transaction
    (the caller commits). With `authority` (an API key's), a case of another authority is
    unknown, exactly as a reference that does not exist.

    An event dated before the case's latest event is a late entry: it takes its place in date
    order and the case is re-derived from its log (`models.cases.history`).
    """
    check_case_ref(case_ref)
    key = check_key(key) or f"record:{uuid.uuid4()}"
    case = lock_case(session, case_ref)
    if authority is not None and case.authority != authority:
        raise UnknownCase(f"no case {case_ref!r}")
    latest, logged_seq = (
        session.connection().execute(LATEST_AND_KEYED, {"case_id": case.id, "key": key}).one()
    )
    if logged_seq is not None:
        logged = session.exec(
            select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.seq == logged_seq)
        ).one()
        _same_event(logged, event, key)
        return Accepted(case.case_ref, logged.seq, case.stage, duplicate=True)
    if event.type in OPENING_EVENTS:
        raise EventRefused(f"{event.type} refused: case {case_ref} is already open")
    _refuse_future(event, today)
    timeline = policies.authority(case.authority)
    actor = _checked_actor(session, case.authority, actor)
    if latest is not None and event.on < latest:
        changes = _record_late(session, case, event, key, timeline, today, actor)
    else:
        transition = apply(state_from_dict(case.state), event, timeline)
        log_event(session, case, event, key, transition.state, transition.changes, timeline, actor)
        changes = transition.changes
    return Accepted(case.case_ref, case.last_seq, case.stage, False, changes)


def committed(engine: Engine, accept: Callable[[Session], Accepted]) -> Accepted:
    """`accept` in a transaction of its own, committed before the caller hears the answer."""
    with Session(engine, expire_on_commit=False) as session:
        accepted = accept(session)
        session.commit()
        return accepted


def _in_own_transaction(
    accept: Callable[Concatenate[Session, P], Accepted],
) -> Callable[Concatenate[Engine, P], Accepted]:
    @wraps(accept)
    def run(engine: Engine, /, *args: P.args, **kwargs: P.kwargs) -> Accepted:
        return committed(engine, lambda session: accept(session, *args, **kwargs))

    return run


# the CLI's, the Python API's and the tests' way in: one event, one transaction
open_case = _in_own_transaction(open_case_in)
record = _in_own_transaction(record_in)


def _checked_actor(session: Session, authority: str, actor: Actor | None) -> Actor:
    """The actor to log; a caller that names none is the Python API's (DESIGN.md: every record
    says who made it)."""
    if actor is None:
        return Actor("python", "python api")
    check_recorded_by(session, authority, actor.recorded_by)
    return actor


def _refuse_future(event: Event, today: date | None) -> None:
    if today is not None and event.on > today:
        raise EventRefused(
            f"{event.type} refused: on: expected a date on or before today "
            f"({today.isoformat()}); got {event.on.isoformat()}"
        )


class Logged(Protocol):
    """What `_same_event` reads of a logged event (a `CaseEvent`, or the bulk path's row)."""

    seq: int
    event_type: str
    occurred_on: date
    payload: dict[str, Any]


def _same_event(logged: Logged, event: Event, key: str) -> None:
    """The same key with a different event is a mistake in the sender, not a duplicate."""
    if logged.payload != event_to_dict(event):
        raise KeyReused(
            f"{event.type} refused: idempotency key {key!r} was already used by event "
            f"{logged.seq} ({logged.event_type} on {logged.occurred_on.isoformat()}); "
            "expected the same event, or a new key"
        )


def _record_late(
    session: Session,
    case: Case,
    event: Event,
    key: str,
    timeline: AuthorityPolicy,
    today: date | None,
    actor: Actor,
) -> tuple[DeadlineChange, ...]:
    """Place `event` in date order, re-derive the case, and correct its rows in place."""
    if event.on < case.referral_date:
        raise EventRefused(
            f"{event.type} on {event.on.isoformat()} refused: expected a date on or after the "
            f"case opened on {case.referral_date.isoformat()}"
        )
    seq = case.last_seq + 1
    history = [(row.seq, parse_event(row.payload)) for row in case_events(session, case.id)]
    try:
        derived = derive([*history, (seq, event)], timeline, case.id)
    except EventRefused as refusal:
        raise refuse_late(event, refusal) from None
    mark_late(derived.deadlines, live_deadlines(session, case.id), today or event.on)
    case.last_seq = seq
    case.stage = str(derived.state.stage)
    case.state = state_to_dict(derived.state)
    case.updated_at = utcnow()
    session.add(case)
    session.add(
        CaseEvent(
            case_id=case.id,
            seq=seq,
            idempotency_key=key,
            event_type=event.type,
            occurred_on=event.on,
            payload=event_to_dict(event),
            actor_kind=actor.kind,
            actor=actor.name,
            recorded_by=actor.recorded_by,
        )
    )
    correct(session, case.id, derived)
    session.add(Outbox(case_id=case.id, seq=seq))
    return ()


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
