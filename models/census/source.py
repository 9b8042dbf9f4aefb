"""The return's children, streamed from the case database, so memory holds one child at a time.

Two queries read side by side, a batch at a time (server-side cursors on PostgreSQL), both in the
same order (child, referral date, case): the cases with their child's census details, and the
cases' events. A child is in the return when one of their episodes in this authority was open in
the year. A child without census details, or an episode missing data the return requires, is
left out and reported (`Omission`) with the case and what to record.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from itertools import groupby
from operator import itemgetter
from typing import Any

from sqlalchemy import Engine, and_, select
from sqlmodel import Session, col

from models.census.episodes import Episode, LogEntry, fold_episode
from models.census.parts import ALLOCATED
from models.census.rowmap import CHILD_DETAILS
from models.census.selection import for_year, in_year
from models.census.writer import ChildRecord, ChildReturn
from models.census.year import CensusYear
from models.tables import Case, CaseAllocation, CaseEvent, Child

BATCH = 5000


@dataclass
class Omission:
    case_ref: str
    reason: str


@dataclass
class Omissions:
    items: list[Omission] = field(default_factory=list)

    def add(self, case_ref: str, reason: str) -> None:
        self.items.append(Omission(case_ref, reason))


def _ordered(stmt: Any, reference_date: date, authority: str) -> Any:
    return (
        stmt.where(col(Case.authority) == authority, col(Case.referral_date) <= reference_date)
        .order_by(col(Case.child_ref), col(Case.referral_date), col(Case.case_ref))
        .execution_options(yield_per=BATCH)
    )


def children_for_year(
    engine: Engine, *, authority: str, year: CensusYear, omissions: Omissions
) -> Iterator[ChildReturn]:
    for per_case in child_logs(engine, authority=authority, reference_date=year.reference_date):
        yield from _child(per_case, year, omissions)


# a case row of `child_logs`: the child's reference, the case's, its closure, the child's details
# (`details_of`), then the team and worker holding it now
CASE_TEAM, CASE_WORKER = 14, 15


def child_logs(
    engine: Engine, *, authority: str, reference_date: date, allocations: bool = False
) -> Iterator[list[tuple[Any, list[LogEntry]]]]:
    """Each child's cases referred by `reference_date` (a case row and its log, in the child's
    referral order), one child at a time; Ofsted's Annex A reads the same stream
    (models/annex_a), with the cases' `allocations`."""
    state = col(Case.state)
    cases = _ordered(
        select(
            col(Case.child_ref),
            col(Case.case_ref),
            state["closed_on"].as_string(),
            state["closure_reason"].as_string(),
            *CHILD_COLUMNS,
            col(Case.team),
            col(Case.worker_id),
        ).outerjoin(
            Child,
            and_(
                col(Child.authority) == col(Case.authority),
                col(Child.child_ref) == col(Case.child_ref),
            ),
        ),
        reference_date,
        authority,
    )
    events = _ordered(
        select(
            col(Case.case_ref),
            col(CaseEvent.seq),
            col(CaseEvent.event_type),
            col(CaseEvent.occurred_on),
            col(CaseEvent.payload),
        ).join(CaseEvent, col(CaseEvent.case_id) == col(Case.id)),
        reference_date,
        authority,
    ).order_by(col(CaseEvent.occurred_on), col(CaseEvent.seq))
    held = _ordered(
        select(
            col(Case.case_ref),
            col(CaseAllocation.allocated_on),
            col(CaseAllocation.team),
            col(CaseAllocation.worker_id),
            col(CaseAllocation.previous_team),
        ).join(CaseAllocation, col(CaseAllocation.case_id) == col(Case.id)),
        reference_date,
        authority,
    ).order_by(col(CaseAllocation.allocated_on), col(CaseAllocation.id))
    # one connection, two (three) cursors read in step (server-side ones on PostgreSQL; SQLite
    # would lock a second connection out, as every transaction here begins IMMEDIATE)
    with Session(engine) as session:
        logs = groupby(session.execute(events), key=itemgetter(0))
        allocated = _Ahead(
            groupby(session.execute(held), key=itemgetter(0)) if allocations else None
        )
        case_rows = session.execute(cases)
        for _child_ref, rows in groupby(case_rows, key=itemgetter(0)):
            per_case = []
            for row in rows:
                ref, log = next(logs, (None, iter(())))
                if ref != row[1]:  # a case with no events cannot be: the referral opens it
                    raise RuntimeError(f"census source out of step at {row[1]}")
                entries = [LogEntry(e[1], e[2], e[3], e[4]) for e in log]
                entries += [
                    LogEntry(0, ALLOCATED, a[1], {"team": a[2], "worker": a[3],
                                                  "previous_team": a[4]})
                    for a in allocated.take(row[1])
                ]  # fmt: skip
                per_case.append((row, entries))
            yield per_case


class _Ahead:
    """The allocations' groups, one looked at ahead: a case without any has no group."""

    def __init__(self, groups: Iterator[tuple[Any, Iterator[Any]]] | None) -> None:
        self._groups = groups
        self._next: tuple[Any, list[Any]] | None = None
        self._advance()

    def _advance(self) -> None:
        found = next(self._groups, None) if self._groups is not None else None
        self._next = None if found is None else (found[0], list(found[1]))

    def take(self, case_ref: str) -> list[Any]:
        if self._next is None or self._next[0] != case_ref:
            return []
        rows = self._next[1]
        self._advance()
        return rows


# the child's details, selected at positions 4 to 13 of a row that `details_of` reads (the census
# reader's case rows, Annex A's contact rows)
CHILD_COLUMNS = (
    col(Child.child_ref),
    col(Child.upn),
    col(Child.former_upn),
    col(Child.upn_unknown),
    col(Child.birth_date),
    col(Child.expected_birth_date),
    col(Child.death_date),
    col(Child.sex),
    col(Child.ethnicity),
    col(Child.disabilities),
)


def details_of(row: Any) -> ChildRecord | None:
    if row[4] is None:
        return None
    disabilities = row[13]
    if isinstance(disabilities, str):  # SQLite hands JSON back as text through a column select
        disabilities = json.loads(disabilities)
    return ChildRecord(
        child_ref=row[4], upn=row[5], former_upn=row[6], upn_unknown=row[7], birth_date=row[8],
        expected_birth_date=row[9], death_date=row[10], sex=row[11], ethnicity=row[12],
        disabilities=list(disabilities),
    )  # fmt: skip


def _child(
    cases: list[tuple[Any, list[LogEntry]]], year: CensusYear, omissions: Omissions
) -> Iterator[ChildReturn]:
    episodes: list[Episode] = []
    previous_cp = 0
    for row, log in cases:
        state = {"closed_on": row[2], "closure_reason": row[3]}
        episode = fold_episode(row[1], log, state=state, year=year, previous_cp_plans=previous_cp)
        if episode is None:
            continue
        previous_cp += len(episode.cp_plans)
        if in_year(episode, year):
            episodes.append(for_year(episode, year))
    if not episodes:
        return
    details = details_of(cases[0][0])
    missing = [m for ep in episodes for m in ep.missing()]
    if details is None:
        omissions.add(episodes[-1].case_ref, f"{CHILD_DETAILS} not set")
    for problem in missing:
        case_ref, _, what = problem.partition(" ")
        omissions.add(case_ref, what)
    if details is None or missing:
        return
    yield ChildReturn(details, episodes)
