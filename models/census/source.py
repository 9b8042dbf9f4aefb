"""The return's children, streamed from the case database: one query, ordered by child, read a
batch at a time (a server-side cursor on PostgreSQL), so memory holds one child at a time.

A child is in the return when one of their episodes in this authority was open in the year. A
child without census details, or an episode missing data the return requires, is left out and
reported (`Omission`) with the case and what to record.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Engine, and_, select
from sqlmodel import Session, col

from models.census.episodes import Episode, LogEntry, fold_episode
from models.census.rowmap import CHILD_DETAILS
from models.census.selection import for_year, in_year
from models.census.writer import ChildReturn
from models.census.year import CensusYear
from models.tables import Case, CaseEvent, Child

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


def children_for_year(
    engine: Engine, *, authority: str, year: CensusYear, omissions: Omissions
) -> Iterator[ChildReturn]:
    closed_on = col(Case.state)["closed_on"].as_string()
    reason = col(Case.state)["closure_reason"].as_string()
    stmt = (
        select(
            col(Case.child_ref),
            col(Case.case_ref),
            closed_on,
            reason,
            col(CaseEvent.seq),
            col(CaseEvent.event_type),
            col(CaseEvent.occurred_on),
            col(CaseEvent.payload),
            Child,
        )
        .join(CaseEvent, col(CaseEvent.case_id) == col(Case.id))
        .outerjoin(
            Child,
            and_(
                col(Child.authority) == col(Case.authority),
                col(Child.child_ref) == col(Case.child_ref),
            ),
        )
        .where(col(Case.authority) == authority, col(Case.referral_date) <= year.reference_date)
        .order_by(
            col(Case.child_ref), col(Case.referral_date), col(Case.case_ref), col(CaseEvent.seq)
        )
        .execution_options(yield_per=BATCH)
    )
    with Session(engine) as session:
        rows = session.execute(stmt)
        child_ref: str | None = None
        details: Child | None = None
        cases: list[tuple[str, dict[str, Any], list[LogEntry]]] = []
        for row in rows:
            if row[0] != child_ref:
                if child_ref is not None:
                    yield from _child(details, cases, year, omissions)
                child_ref, details, cases = row[0], row[8], []
            if not cases or cases[-1][0] != row[1]:
                cases.append((row[1], {"closed_on": row[2], "closure_reason": row[3]}, []))
            on: date = row[6]
            cases[-1][2].append(LogEntry(row[4], row[5], on, row[7]))
        if child_ref is not None:
            yield from _child(details, cases, year, omissions)


def _child(
    details: Child | None,
    cases: list[tuple[str, dict[str, Any], list[LogEntry]]],
    year: CensusYear,
    omissions: Omissions,
) -> Iterator[ChildReturn]:
    episodes: list[Episode] = []
    previous_cp = 0
    for case_ref, state, log in cases:
        episode = fold_episode(case_ref, log, state=state, year=year, previous_cp_plans=previous_cp)
        if episode is None:
            continue
        previous_cp += len(episode.cp_plans)
        if in_year(episode, year):
            episodes.append(for_year(episode, year))
    if not episodes:
        return
    missing = [m for ep in episodes for m in ep.missing()]
    if details is None:
        omissions.add(episodes[-1].case_ref, f"{CHILD_DETAILS} not set")
    for problem in missing:
        case_ref, _, what = problem.partition(" ")
        omissions.add(case_ref, what)
    if details is None or missing:
        return
    yield ChildReturn(details, episodes)
