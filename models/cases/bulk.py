"""Accepting many events in one transaction: the bulk path of `cin import` (issue 23).

The per-event path (`models.cases.store`) costs about seven round trips and a commit per event,
which is most of an import's time. A `CaseBatch` reads the cases a chunk of lines touches once
(their rows, logs, deadlines and drift, locked as `store` locks them), applies each event in memory
through the same lifecycle and the same checks, in the same order and with the same messages as
`store.open_case` and `store.record`, and writes what changed with a few set-at-a-time statements.
The result is the database the per-event path gives, row for row (`tests/cli/test_import_bulk.py`).

What it cannot mirror without the database (a row the per-event path would insert twice, which
the database refuses line by line) raises `NeedsPerEvent`: the caller rolls the chunk back and
accepts it event by event.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from functools import cache
from json import dumps
from typing import Any

from sqlalchemy import JSON, Table, bindparam, select
from sqlmodel import Session

from models.access.actors import Actor
from models.cases.history import (
    DEADLINE_COLUMNS,
    DRIFT_COLUMNS,
    apply_changes,
    continue_streak,
    correct_rows,
    derive,
    mark_late,
    refuse_late,
    sync_drift,
)
from models.cases.lookup import ChildCase
from models.cases.numbering import numbered
from models.cases.reads import UnknownCase
from models.cases.store import (
    OPENING_EVENTS,
    Accepted,
    _refuse_future,
    _same_event,
    new_case,
)
from models.cases.written import outbox_row
from models.fields import FieldRefused, check_case_ref, check_child_ref, check_key, check_team
from models.lifecycle import (
    DeadlineChange,
    Event,
    EventRefused,
    apply,
    event_to_dict,
    initial_state,
    parse_event,
    state_from_dict,
    state_to_dict,
)
from models.policy.book import AuthorityPolicy, PolicyBook
from models.tables import Authority, Case, CaseEvent, Deadline, Drift, Outbox, Staff, utcnow

IN_CHUNK = 1000  # values in one IN list
PYTHON_API = Actor("python", "python api")  # store._checked_actor's actor for a caller naming none


@dataclass(slots=True)
class _Logged:
    """A `case_event` row, lighter than the model (an import makes one a line; a SQLModel object
    costs ~0.1 ms to build). Its fields are the table's columns (checked below)."""

    id: uuid.UUID
    case_id: uuid.UUID
    seq: int
    idempotency_key: str
    event_type: str
    occurred_on: date
    payload: dict[str, Any]
    recorded_at: datetime
    actor_kind: str
    actor: str
    recorded_by: str | None


class NeedsPerEvent(Exception):
    """The batch met something only the database decides (a duplicate row): accept per event."""


@dataclass
class _Held:
    """One case in memory: its row, its log, its deadline and drift rows by key."""

    case: Case
    events: list[_Logged] = field(default_factory=list)
    keys: dict[str, _Logged] = field(default_factory=dict)
    deadlines: dict[str, Deadline] = field(default_factory=dict)
    drift: dict[str, Drift] = field(default_factory=dict)
    new: bool = False


class _Rows:
    """What `history.correct_rows` adds and deletes, applied to a held case's rows by key."""

    def __init__(self, held: _Held) -> None:
        self.held = held

    def add(self, row: object) -> None:
        self._of(row)[row.key] = row  # type: ignore[attr-defined]

    def delete(self, row: object) -> None:
        self._of(row).pop(row.key)  # type: ignore[attr-defined]

    def _of(self, row: object) -> dict[str, Any]:
        return self.held.deadlines if isinstance(row, Deadline) else self.held.drift


def _table(model: Any) -> Table:
    """A model's (or a row's) table: SQLModel sets `__table__` where type checkers cannot see."""
    table: Table = model.__table__
    return table


def _values(row: Any, table: Table) -> dict[str, Any]:
    return {c.name: getattr(row, c.name) for c in table.columns}


@cache
def _compared(table: Table) -> tuple[str, ...]:
    """The columns a row is compared on, to see what changed: all of them (timestamps are UTC
    both ways, models.tables)."""
    return tuple(c.name for c in table.columns)


def _snap(row: Any, table: Table) -> tuple[Any, ...]:
    """A row's values (a model object's or a result row's), to see later whether it changed."""
    return tuple(getattr(row, name) for name in _compared(table))


def _detached(model: type[Any], rows: Iterable[Any]) -> list[Any]:
    """Model objects built from plain rows: not in the session, so only `write` writes them."""
    return [model(**dict(row._mapping)) for row in rows]


@dataclass
class Carry:
    """What one chunk's batch leaves the next: its cases as it wrote them, and their values then.
    The next batch still locks and reads every case it needs, but builds again only the rows
    that differ from these (someone else wrote them): most of a caseload's cases have lines in
    many chunks, and building their rows again each time made an import slower chunk by chunk."""

    held: dict[uuid.UUID, _Held] = field(default_factory=dict)
    snaps: dict[tuple[str, Any], tuple[Any, ...]] = field(default_factory=dict)


class CaseBatch:
    """The cases of a chunk of lines, held in memory from `load` to `write` in one transaction."""

    def __init__(
        self,
        session: Session,
        *,
        policies: PolicyBook,
        today: date | None,
        carry: Carry | None = None,
    ) -> None:
        self.session = session
        self.policies = policies
        self.today = today
        self.carry = carry or Carry()
        self.authorities: dict[str, Authority] = {}
        self.by_ref: dict[str, _Held] = {}
        self.by_child: dict[tuple[str, str], list[_Held]] = {}
        self.before: dict[tuple[str, Any], tuple[Any, ...]] = {}  # (table, key) -> as read
        self.teams: dict[str, set[str]] = {}
        self.new_events: list[_Logged] = []
        self.outbox: list[dict[str, Any]] = []

    # -- reading, once per chunk ------------------------------------------------------------

    def load(self, *, children: set[tuple[str, str]], case_refs: set[str]) -> None:
        """Lock the authorities and every case of `children` and of `case_refs`; hold them."""
        connection = self.session.connection()
        authorities = connection.execute(select(_table(Authority)).with_for_update())
        for authority in _detached(Authority, authorities):
            self.authorities[authority.slug] = authority
            self.before[("authority", authority.slug)] = _snap(authority, _table(Authority))
        table = _table(Case)
        for refs in _chunks(sorted(case_refs)):
            query = select(table.c.authority, table.c.child_ref).where(table.c.case_ref.in_(refs))
            children |= {(a, c) for a, c in connection.execute(query)}
        wanted = {ref for _, ref in children}
        held: dict[uuid.UUID, _Held] = {}
        unread: list[uuid.UUID] = []  # cases whose log is not carried
        for refs in _chunks(sorted(wanted)):
            query = select(table).where(table.c.child_ref.in_(refs)).with_for_update()
            for row in connection.execute(query).all():  # one fetch, not one a row
                if (row.authority, row.child_ref) not in children:
                    continue
                snap = _snap(row, table)
                carried = self.carry.held.get(row.id)
                if carried is None or self.carry.snaps.get(("case", row.id)) != snap:
                    carried = _Held(Case(**row._mapping))
                    unread.append(row.id)
                held[row.id] = self._hold(carried)
                self.before[("case", row.id)] = snap
        events = _table(CaseEvent)
        for part in _chunks(sorted(unread)):
            query = select(events).where(events.c.case_id.in_(part))
            for logged in connection.execute(query.order_by(events.c.case_id, events.c.seq)).all():
                h = held[logged.case_id]
                h.events.append(_Logged(**logged._mapping))
                h.keys[logged.idempotency_key] = h.events[-1]
        self._load_rows(Deadline, "deadline", held, set(unread))
        self._load_rows(Drift, "drift", held, set(unread))
        for child in self.by_child.values():
            child.sort(key=_oldest_first)

    def _load_rows(
        self, model: type[Any], name: str, held: dict[uuid.UUID, _Held], unread: set[uuid.UUID]
    ) -> None:
        """The deadline (or drift) rows of the held cases: the carried objects where the
        database holds exactly them, rows built again where it does not."""
        table = _table(model)
        found: dict[uuid.UUID, dict[str, Any]] = {case_id: {} for case_id in held}
        for part in _chunks(sorted(held)):
            query = select(table).where(table.c.case_id.in_(part))
            for result in self.session.connection().execute(query).all():
                found[result.case_id][result.key] = result
        for case_id, results in found.items():
            h = held[case_id]
            mine: dict[str, Any] = h.deadlines if model is Deadline else h.drift
            snaps = {key: _snap(result, table) for key, result in results.items()}
            same = case_id not in unread and snaps == {
                key: self.carry.snaps.get((name, row.id)) for key, row in mine.items()
            }
            if not same:
                mine.clear()
                mine.update({k: model(**dict(r._mapping)) for k, r in results.items()})
            for key, row in mine.items():
                self.before[(name, row.id)] = snaps[key]

    def _hold(self, held: _Held) -> _Held:
        case = held.case
        self.by_ref[case.case_ref] = held
        child = self.by_child.setdefault((case.authority, case.child_ref), [])
        child.append(held)
        if held.new:
            child.sort(key=_oldest_first)
        return held

    # -- the lookups `cin import` makes -----------------------------------------------------

    def child_cases(self, *, authority: str, child_ref: str, key: str) -> list[ChildCase]:
        """`lookup.child_cases`, from memory."""
        held = self.by_child.get((authority, child_ref), [])
        return [ChildCase(h.case.case_ref, h.case.stage, key in h.keys) for h in held]

    # -- accepting: `store.open_case` and `store.record`, check for check ---------------------

    def open_case(
        self,
        *,
        authority: str,
        child_ref: str,
        event: Event,
        key: str | None = None,
        team: str | None = None,
    ) -> Accepted:
        if event.type not in OPENING_EVENTS:
            raise EventRefused(
                f"{event.type} refused: a new case starts with referral_received or transfer_in"
            )
        _refuse_future(event, self.today)
        timeline = self.policies.authority(authority)
        check_child_ref(child_ref)
        team = check_team(team)
        key = check_key(key) or f"open:{uuid.uuid4()}"
        counter = self.authorities.get(authority)
        if counter is None:
            raise UnknownCase(
                f"authority {authority!r} has no row: run `cin init` to load the policies"
            )
        self._check_roster_team(authority, team)
        cases = self.by_child.get((authority, child_ref), [])
        earlier = next((h for h in cases if key in h.keys), None)
        if earlier is not None:
            logged = earlier.keys[key]
            _same_event(logged, event, key)
            return Accepted(earlier.case.case_ref, logged.seq, earlier.case.stage, duplicate=True)
        still_open = next((h.case.case_ref for h in cases if h.case.stage != "closed"), None)
        if still_open is not None:
            raise EventRefused(
                f"{event.type} refused: the child already has an open case, {still_open}; "
                "record this on it, or close it first"
            )
        transition = apply(initial_state(), event, timeline)
        previous = [
            h.case.referral_date
            for h in cases
            if h.events and h.events[0].seq == 1 and h.events[0].event_type == "referral_received"
        ]
        number = numbered(counter.case_prefix, counter.next_case_number)
        case = new_case(number, authority, child_ref, team, event, transition, previous)
        if case.case_ref in self.by_ref:  # another case holds the number: the database refuses
            raise NeedsPerEvent(case.case_ref)
        counter.next_case_number += 1
        held = self._hold(_Held(case, new=True))
        self._log(held, event, key, transition.changes, timeline, transition.state)
        return Accepted(case.case_ref, case.last_seq, case.stage, False, transition.changes)

    def record(self, *, case_ref: str, event: Event, key: str | None = None) -> Accepted:
        check_case_ref(case_ref)
        key = check_key(key) or f"record:{uuid.uuid4()}"
        held = self.by_ref.get(case_ref)
        if held is None:
            raise UnknownCase(f"no case {case_ref!r}")
        case = held.case
        logged = held.keys.get(key)
        if logged is not None:
            _same_event(logged, event, key)
            return Accepted(case.case_ref, logged.seq, case.stage, duplicate=True)
        if event.type in OPENING_EVENTS:
            raise EventRefused(f"{event.type} refused: case {case_ref} is already open")
        _refuse_future(event, self.today)
        timeline = self.policies.authority(case.authority)
        latest = max((e.occurred_on for e in held.events), default=None)
        if latest is not None and event.on < latest:
            changes = self._record_late(held, event, key, timeline)
        else:
            transition = apply(state_from_dict(case.state), event, timeline)
            self._log(held, event, key, transition.changes, timeline, transition.state)
            changes = transition.changes
        return Accepted(case.case_ref, case.last_seq, case.stage, False, changes)

    def _check_roster_team(self, authority: str, team: str | None) -> None:
        if team is None:
            return
        if authority not in self.teams:
            staff = _table(Staff)
            query = select(staff.c.team).where(staff.c.authority == authority, staff.c.active)
            found = {t for (t,) in self.session.connection().execute(query.distinct())}
            found.discard(None)
            self.teams[authority] = found
        teams = self.teams[authority]
        if teams and team not in teams:
            listed = ", ".join(sorted(str(t) for t in teams)[:10])
            raise FieldRefused(
                f"team: expected one on {authority}'s roster ({listed}); got {team!r}"
            )

    def _event_row(self, held: _Held, event: Event, key: str, seq: int) -> None:
        now = utcnow()
        row = _Logged(
            id=uuid.uuid4(),
            case_id=held.case.id,
            seq=seq,
            idempotency_key=key,
            event_type=event.type,
            occurred_on=event.on,
            payload=event_to_dict(event),
            recorded_at=now,
            actor_kind=PYTHON_API.kind,
            actor=PYTHON_API.name,
            recorded_by=PYTHON_API.recorded_by,
        )
        held.events.append(row)
        held.keys[key] = row
        self.new_events.append(row)
        self.outbox.append(outbox_row(held.case.id, seq, now))

    def _log(
        self,
        held: _Held,
        event: Event,
        key: str,
        changes: tuple[DeadlineChange, ...],
        timeline: AuthorityPolicy,
        state: Any,
    ) -> None:
        """`store._log`, in memory."""
        case = held.case
        if any(c.action == "open" and c.key in held.deadlines for c in changes):
            raise NeedsPerEvent("a deadline key opened twice")
        case.last_seq += 1
        case.stage = str(state.stage)
        case.state = state_to_dict(state)
        case.updated_at = utcnow()
        self._event_row(held, event, key, case.last_seq)
        rows = {c.key: held.deadlines[c.key] for c in changes if c.key in held.deadlines}
        for row in apply_changes(rows, case_id=case.id, seq=case.last_seq, changes=changes):
            held.deadlines[row.key] = row
        drift = dict(held.drift)  # resolved rows too: a finding back opens its row again
        streak = continue_streak(timeline, state)
        for found in sync_drift(
            drift, case_id=case.id, seq=case.last_seq, state=state, streak=streak
        ):
            if held.drift.get(found.key, found) is not found:  # uq_drift_key refuses it
                raise NeedsPerEvent("a drift key opened twice")
            held.drift[found.key] = found

    def _record_late(
        self, held: _Held, event: Event, key: str, timeline: AuthorityPolicy
    ) -> tuple[DeadlineChange, ...]:
        """`store._record_late`, in memory."""
        case = held.case
        if event.on < case.referral_date:
            raise EventRefused(
                f"{event.type} on {event.on.isoformat()} refused: expected a date on or after the "
                f"case opened on {case.referral_date.isoformat()}"
            )
        seq = case.last_seq + 1
        history = [(row.seq, parse_event(row.payload)) for row in held.events]
        try:
            derived = derive([*history, (seq, event)], timeline, case.id)
        except EventRefused as refusal:
            raise refuse_late(event, refusal) from None
        mark_late(derived.deadlines, dict(held.deadlines), self.today or event.on)
        case.last_seq = seq
        case.stage = str(derived.state.stage)
        case.state = state_to_dict(derived.state)
        case.updated_at = utcnow()
        self._event_row(held, event, key, seq)
        sink = _Rows(held)
        correct_rows(sink, dict(held.drift), derived.drift, DRIFT_COLUMNS)
        correct_rows(sink, dict(held.deadlines), derived.deadlines, DEADLINE_COLUMNS)
        return ()

    # -- writing, once per chunk ------------------------------------------------------------

    def write(self) -> Carry:
        """Write every row the chunk added or changed (the caller commits); what to carry."""
        held = list(self.by_ref.values())
        # every held row's values, once: to compare with those read, to insert, and to carry
        now: dict[tuple[str, Any], tuple[Any, ...]] = {}
        for h in held:
            now[("case", h.case.id)] = _snap(h.case, _table(Case))
            for row in h.deadlines.values():
                now[("deadline", row.id)] = _snap(row, _table(Deadline))
            for found in h.drift.values():
                now[("drift", found.id)] = _snap(found, _table(Drift))
        counters = _table(Authority)
        self._update(
            Authority, {("authority", k): _snap(a, counters) for k, a in self.authorities.items()}
        )
        cases = {k: v for k, v in now.items() if k[0] == "case"}
        self._insert(Case, [v for k, v in cases.items() if k not in self.before])
        self._update(Case, {k: v for k, v in cases.items() if k in self.before})
        self._copy(_table(CaseEvent), [_values(e, _table(CaseEvent)) for e in self.new_events])
        for name, model in (("deadline", Deadline), ("drift", Drift)):
            table = _table(model)
            gone = [k for (t, k) in self.before if t == name and (t, k) not in now]
            for part in _chunks(gone):
                self.session.connection().execute(table.delete().where(table.c.id.in_(part)))
            mine = {k: v for k, v in now.items() if k[0] == name}
            self._update(model, {k: v for k, v in mine.items() if k in self.before})
            self._insert(model, [v for k, v in mine.items() if k not in self.before])
        self._copy(_table(Outbox), self.outbox)
        for h in held:
            h.new = False
            self.carry.held[h.case.id] = h
        self.carry.snaps.update(now)
        return self.carry

    def _insert(self, model: type[Any], rows: list[tuple[Any, ...]]) -> None:
        names = _compared(_table(model))
        self._copy(_table(model), [dict(zip(names, row, strict=True)) for row in rows])

    def _copy(self, table: Table, rows: list[dict[str, Any]]) -> None:
        """Insert `rows`: PostgreSQL's COPY (several times faster than INSERT for thousands of
        rows), elsewhere one executemany."""
        if not rows:
            return
        connection = self.session.connection()
        if connection.dialect.name != "postgresql":
            connection.execute(table.insert(), rows)
            return
        import psycopg
        from psycopg import sql
        from sqlalchemy.exc import OperationalError

        columns = [c.name for c in table.columns]
        json = {c.name for c in table.columns if isinstance(c.type, JSON)}
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        raw = connection.connection.driver_connection
        assert raw is not None
        try:
            with raw.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row([dumps(row[c]) if c in json else row[c] for c in columns])
        except psycopg.OperationalError as error:  # the database cannot be used: as SQLAlchemy says
            raise OperationalError(f"COPY {table.name}", None, error) from error
        except psycopg.Error as error:  # a row refused (a constraint, a trigger): line by line
            raise NeedsPerEvent(type(error).__name__) from error

    def _update(self, model: type[Any], rows: dict[tuple[str, Any], tuple[Any, ...]]) -> None:
        """Rows that differ from those read: their changed columns only, as the per-event
        path's session writes them, by primary key."""
        table = _table(model)
        compared = _compared(table)
        (key,) = (c.name for c in table.primary_key.columns)
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for where, values in rows.items():
            was = self.before[where]
            changed = tuple(c for c, a, b in zip(compared, values, was, strict=True) if a != b)
            if changed:
                named = dict(zip(compared, values, strict=True))
                groups.setdefault(changed, []).append({f"_{c}": named[c] for c in (key, *changed)})
        for columns, batch in groups.items():
            statement = (
                table.update()
                .where(table.c[key] == bindparam(f"_{key}"))
                .values({c: bindparam(f"_{c}") for c in columns})
            )
            self.session.connection().execute(statement, batch)


# the light rows write every column the tables have (a new column must be added to them)
assert {f.name for f in fields(_Logged)} == set(_table(CaseEvent).columns.keys())


def _oldest_first(held: _Held) -> tuple[date, Any]:
    """`lookup.child_cases`' order."""
    return held.case.referral_date, held.case.created_at


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for i in range(0, len(values), IN_CHUNK):
        yield values[i : i + IN_CHUNK]
