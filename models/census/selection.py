"""Which episodes, and which parts of them, a collection year's return holds (DfE CIN census guide;
the DfE rules named hold the same line):

- an episode open at any time in the year: referred on or before the reference date, and not
  closed before 1 April (8620: a closure date falls within the census year);
- its assessments authorised in the year or not authorised by the reference date (8696, 8736);
- its CIN plans and child protection plans running at any time in the year (4013, 8930), with the
  CP reviews held in the year;
- its section 47 enquiries started in the year, with an ICPC in the year, or still outstanding
  (8715, 8740).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from models.census.episodes import CpPlan, Episode
from models.census.year import CensusYear


def in_year(episode: Episode, year: CensusYear) -> bool:
    return episode.referral_date <= year.reference_date and year.still_running(episode.closed_on)


def for_year(episode: Episode, year: CensusYear) -> Episode:
    """The episode with only the parts the year's return holds. An ICPC is recorded once (DfE
    rule 2884): in its Section47 block when that is in the return, else on the episode."""
    s47s = [s for s in episode.s47s if s.outstanding or year.within(s.start) or year.within(s.icpc)]
    icpc = episode.initial_cpc
    if not year.within(icpc) or any(s.icpc == icpc for s in s47s):
        icpc = None
    return replace(
        episode,
        initial_cpc=icpc,
        initial_cpc_seq=episode.initial_cpc_seq if icpc else None,
        assessments=[a for a in episode.assessments if year.still_running(a.authorised)],
        plans=[p for p in episode.plans if year.still_running(p.end)],
        s47s=s47s,
        cp_plans=[_reviews_in(cp, year) for cp in episode.cp_plans if year.still_running(cp.end)],
    )


def _reviews_in(cp: CpPlan, year: CensusYear) -> CpPlan:
    reviews: list[tuple[date, int]] = [r for r in cp.reviews if year.within(r[0])]
    return replace(cp, reviews=reviews)
