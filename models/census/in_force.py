"""What of a case is in force on a day: its episode, a CIN plan, a child protection plan.

One derivation for every output that counts them (issue 19 point 11): the census fold
(`episodes.fold_episode`) as at the day, then
- the episode is open when it has no closure date by the day (the return's CINdetails without a
  CINclosureDate on its reference date; Annex A's List 6 rows without a closure date);
- a CIN plan is in force when one of its CINPlanDates has no end by the day (a plan ends at its
  final meeting, consent withdrawn, the ICPC that makes a CP plan, or the closure);
- a CP plan is in force when one of its ChildProtectionPlans has no end by the day (it ends at the
  CP review that steps it down to a CIN plan or closes it, or the closure).

`cin report`'s `open_cases_on_date`, `open_cin_plans_on_date` and `open_cp_plans_on_date`
(models/report/on_date.py) and Annex A's case status (models/annex_a/rows.py) read these.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from models.census.episodes import Episode, fold_episode
from models.census.parts import LogEntry


@dataclass(frozen=True, slots=True)
class AsAt:
    """The day a log is folded as at (a `ReferenceDay`)."""

    reference_date: date


@dataclass(frozen=True, slots=True)
class InForce:
    episode: bool = False
    cin_plan: bool = False
    cp_plan: bool = False


NOTHING = InForce()


def in_force(episode: Episode | None) -> InForce:
    """`episode` as folded at the day (None: not referred by then)."""
    if episode is None or episode.closed_on is not None:
        return NOTHING
    return InForce(
        episode=True,
        cin_plan=any(plan.end is None for plan in episode.plans),
        cp_plan=any(cp.end is None for cp in episode.cp_plans),
    )


def in_force_on(
    case_ref: str, log: Iterable[LogEntry], *, closed_on: date | None, day: date
) -> InForce:
    """The case's log (its closure as the case state holds it) folded as at `day`."""
    state = {"closed_on": closed_on, "closure_reason": None}
    return in_force(fold_episode(case_ref, log, state=state, year=AsAt(day)))
