"""The numbers behind the synthetic caseload: how often each path is taken, and why.

Where a seed gives a figure it is cited; where none does, the comment says it is an assumption.
004 (the Children's Commissioner's analysis) is the main source: it shows how widely councils
differ, so each mix sits inside the range 004 reports rather than at any one council.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from random import Random
from typing import TypeVar

T = TypeVar("T")

# -- volumes: referrals a year, by council ----------------------------------------------------

# The seeds' own volumes. Only Stockton counts its referrals; the others are derived from what
# their documents do give, and each derivation is written out. England's referral rate over its
# CIN rate (000 lines 90 and 101: 548.3 and 337.3 per 10,000 children, 2014-15) turns a count of
# children in need into referrals a year where a document gives only the former.
REFERRALS_PER_CHILD_IN_NEED = 548.3 / 337.3  # England 2014-15 (000 lines 90, 101): 1.63
ANNUAL_REFERRALS: Mapping[str, float] = {
    # 001 line 57: 2,334 new CIN referrals, April 2017 to March 2018
    "stockton-on-tees": 2334,
    # 000 line 101: 363.1 referrals per 10,000 children (2014-15) x 27,322 children (the policy's
    # child_population for 2015, itself derived from 000 lines 88-90): 992
    "redcar-and-cleveland": 363.1 * 27_322 / 10_000,
    # 002 s3.1 (line 111): 4,364 children open in April 2018; no referral count, so x England's
    # referrals per child in need: 7,094
    "warwickshire": 4364 * REFERRALS_PER_CHILD_IN_NEED,
    # no seed gives Redbridge's volume (an assumption): an average English council, 403,090
    # children in need (004 line 32) over 152 councils, x England's referrals per child in need:
    # 4,311
    "redbridge": 403_090 / 152 * REFERRALS_PER_CHILD_IN_NEED,
}
# The demo plays every council's year at this one scale, so their sizes relative to each other
# are the seeds' while the whole stays the size of a demo (~210 cases).
VOLUME_SCALE = 1 / 70


def scaled_volumes(authorities: Sequence[str], scale: float = VOLUME_SCALE) -> dict[str, int]:
    """Cases (referrals) each council gets in a simulated year: its annual referrals x `scale`,
    rounded, at least one."""
    unknown = [slug for slug in authorities if slug not in ANNUAL_REFERRALS]
    if unknown:
        raise ValueError(f"authorities: no annual referral volume for {', '.join(unknown)}")
    return {slug: max(1, round(ANNUAL_REFERRALS[slug] * scale)) for slug in authorities}


# -- the front door -----------------------------------------------------------------------------

# A few children arrive on a CIN plan from another authority (Redbridge 003 s7); an assumption.
TRANSFER_IN = 0.04

# Referral decisions. 004: referrals ending in no further action range from 1.6% to 63% between
# councils, average 32%. NFA at the front door (20%) plus NFA after assessment (below, 20% of the
# 66% assessed = 13%) gives ~33%, near that average. Early help at the front door and strategy
# discussions are assumptions.
REFERRAL_DECISION: Mapping[str, float] = {
    "assessment": 0.66,
    "nfa": 0.20,
    "early_help": 0.10,
    "strategy_discussion": 0.04,
}

# Assessment outcomes. NFA as above; step-down to early help: Stockton 001 s3.3 found 24% of
# closed cases had unmet need for early help. Escalation to s47 is an assumption.
ASSESSMENT_OUTCOME: Mapping[str, float] = {
    "cin_plan": 0.57,
    "nfa": 0.20,
    "step_down": 0.18,
    "escalate": 0.05,
}
ASSESSMENT_STARTED_RECORDED = 0.85  # some systems record only the completion (assumption)
# Warwickshire 002 s4.4.2 times CIN support from the initial home visit: most assessments have one.
HOME_VISIT_IN_ASSESSMENT = 0.6
S47_DURING_ASSESSMENT = 0.03  # new information mid-assessment (assumption)

# -- child protection (Working Together: ICPC within 15 WD of the strategy discussion) ------------

ICPC_CP_PLAN = 0.45  # an assumption; the seeds give rates, not conversion
# no CP plan after an assessment that escalated: the council decides (001 L353-355); a CIN plan
# mostly, otherwise the case closes (assumption)
DECISION_CIN_PLAN = 0.7
CP_PLAN_DAYS = (120, 540)  # how long a CP plan lasts here (assumption)
CP_VISIT_DAYS = (10, 16)  # CP visits are more frequent than CIN ones (assumption)
CP_PLAN_END: Mapping[str, float] = {"RC7": 0.75, "RC3": 0.1, "RC4": 0.1, "transfer_out": 0.05}

# -- the CIN plan ---------------------------------------------------------------------------------

# 004: 74% of councils set no visiting frequency, "most of these ... as often as the plan says";
# of those that set one, the biggest group visit every 4 weeks (13%), the rest from twice a month
# to once every three months. So many plans set their own, in that range.
PLAN_SETS_VISIT_FREQUENCY = 0.45
VISIT_FREQUENCY: Mapping[tuple[int, str], float] = {
    (2, "weeks"): 0.30,
    (4, "weeks"): 0.40,
    (6, "weeks"): 0.20,
    (3, "months"): 0.10,
}

# 004: average CIN plan duration ranges from 35 to 388 days between councils; Stockton 001 s3.2
# closed 52% of cases within 3 months and 28% after 9 months or more. Days from the plan start to
# the review that ends it, drawn from one band.
PLAN_DAYS: Mapping[tuple[int, int], float] = {
    (35, 90): 0.30,
    (91, 270): 0.35,
    (271, 540): 0.35,
}
# What the review that ends the plan decides (Redbridge 003 s6, s8). Stockton 001 s3.3: 24% of
# closures had unmet need for early help, hence a large step-down share.
PLAN_END: Mapping[str, float] = {"close": 0.45, "step_down_panel": 0.45, "escalate": 0.10}
CHANGE_OF_PLAN = 0.3  # a review that goes on changes the plan rather than continuing it
CHANGE_SETS_VISITS = 0.5  # ... and the change sets a new visiting frequency
# the first review after 12 months: a team manager chairs (003 L131), else it is a finding
TEAM_MANAGER_CHAIRS = 0.8
PANEL_ACCEPTS = 0.8  # the step-down panel accepts (003 s8 describes it, without a rate)
PANEL_REJECTED_EXTRA_DAYS = (60, 150)  # the plan runs on after a refused step-down

# Ends a plan can meet between reviews (assumptions): the family moves away (RC5), s47 enquiries
# on new information, or a closure the census codes for an order or adult services.
PLAN_TRANSFER_OUT = 0.04
PLAN_S47 = 0.03
PLAN_OTHER_CLOSURE = 0.03
# Reasons that end a plan by themselves (003 L146: otherwise a review decides, which closes RC7)
OTHER_CLOSURE_REASON: Mapping[str, float] = {"RC3": 0.45, "RC4": 0.3, "RC6": 0.25}
PLAN_NEVER_DISTRIBUTED = 0.04  # copies never recorded: the clock stays missed

# -- timeliness (how often work is late, and by how much; days) ---------------------------------

# No seed measures lateness of single tasks; these assumptions give every deadline kind some
# met-late and overdue rows, as the monitor and reports need.
LATE = {
    "decision": 0.10,
    "assessment": 0.15,
    "meeting": 0.12,
    "distribution": 0.10,
    "review": 0.18,
    "visit": 0.20,
    "icpc": 0.15,
    "panel": 0.15,
}
LATE_DAYS = {"short": (1, 5), "long": (6, 30)}

# -- re-referral (Warwickshire 002 s3.2-3.4) ------------------------------------------------------

# 002 s3.2: Warwickshire's re-referral rate was 36.3%, "14.4% higher than the national average"
# (so ~21.9%). A closed case's child is referred again at that authority's rate.
RE_REFERRAL: Mapping[str, float] = {"warwickshire": 0.363}
RE_REFERRAL_DEFAULT = 0.219
# 002 s3.4: how long after the previous referral re-referrals came (days after closure here).
RE_REFERRAL_DAYS: Mapping[tuple[int, int], float] = {
    (3, 30): 0.342,
    (31, 90): 0.191,
    (91, 182): 0.178,
    (183, 364): 0.289,
}
MAX_CASES_PER_CHILD = 3

# -- recording ------------------------------------------------------------------------------------

# How long after the event the recording system sends it (days); an assumption. Most the same day,
# some days later, a few weeks later ("late records").
RECORDING_DELAY: Mapping[tuple[int, int], float] = {
    (0, 0): 0.84,
    (1, 3): 0.11,
    (4, 21): 0.04,
    (22, 56): 0.01,
}

# -- who the child is -----------------------------------------------------------------------------

# Census codes (models/census/CODES.md); the proportions are assumptions, no seed gives them.
REFERRAL_SOURCE: Mapping[str, float] = {
    "6": 0.28, "2A": 0.18, "3A": 0.04, "3B": 0.03, "3E": 0.04, "3F": 0.03,
    "5A": 0.05, "5D": 0.05, "1A": 0.06, "1C": 0.01, "1D": 0.02, "4": 0.03,
    "7": 0.02, "8": 0.08, "9": 0.02, "10": 0.06,
}  # fmt: skip
PRIMARY_NEED: Mapping[str, float] = {
    "N1": 0.50, "N2": 0.08, "N3": 0.04, "N4": 0.12, "N5": 0.15,
    "N6": 0.03, "N7": 0.01, "N8": 0.03, "N9": 0.02, "N0": 0.02,
}  # fmt: skip
# Teams: Warwickshire's three pathways (002 s5-s7); elsewhere two localities (assumption).
TEAMS: Mapping[str, tuple[str, ...]] = {
    "warwickshire": ("strengthening-families", "safeguarding-support", "disability"),
}
DEFAULT_TEAMS = ("east", "west")


def pick(rng: Random, weights: Mapping[T, float]) -> T:
    """One key of `weights`, drawn in proportion to its value."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def pick_days(rng: Random, bands: Mapping[tuple[int, int], float]) -> int:
    low, high = pick(rng, bands)
    return rng.randint(low, high)


def team_for(rng: Random, authority: str, primary_need: str | None) -> str:
    teams = TEAMS.get(authority, DEFAULT_TEAMS)
    if "disability" in teams and primary_need == "N2":  # 002 s7: Children with Disability Team
        return f"{authority}-disability"
    return f"{authority}-{rng.choice([t for t in teams if t != 'disability'])}"
