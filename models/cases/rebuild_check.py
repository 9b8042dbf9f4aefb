"""Would a policy change leave open cases un-rebuildable? Replay each one under it, write nothing.

A case's deadlines are derived from its log under the policy in force; a change that makes an
accepted event refuse (a timescale whose due date falls past the calendar, a version gap) would
make `cin case rebuild` fail for that case, so `cin policy validate` refuses such a change and
names the cases (`cin policy validate`, docs/operating.md, "Limits").
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from models.cases.reads import case_events
from models.lifecycle import apply, initial_state, parse_event
from models.lifecycle.state import Stage
from models.policy.book import PolicyBook
from models.tables import Case

SHOWN_CASES = 10


@dataclass(frozen=True)
class Unrebuildable:
    case_ref: str
    seq: int
    reason: str


def unrebuildable_cases(
    session: Session, *, policies: PolicyBook, authorities: tuple[str, ...]
) -> list[Unrebuildable]:
    """Open cases of `authorities` whose log no longer replays under `policies`."""
    query = (
        select(Case)
        .where(col(Case.authority).in_(authorities), Case.stage != str(Stage.CLOSED))
        .order_by(col(Case.case_ref))
    )
    found: list[Unrebuildable] = []
    for case in session.exec(query):
        timeline = policies.authority(case.authority)
        state = initial_state()
        for logged in case_events(session, case.id):
            try:
                state = apply(state, parse_event(logged.payload), timeline).state
            except ValueError as error:  # EventRefused, CalendarError, PolicyError
                found.append(Unrebuildable(case.case_ref, logged.seq, str(error).splitlines()[0]))
                break
    return found
