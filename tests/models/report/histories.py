"""Hand-built histories for the report tests: Redbridge, financial year 2024-25, every date
chosen so each measure can be counted by hand (the counts are in test_report_measures.py).

    A  childa  2023-11-15 referral, NFA next day (before the period)
    B  childa  2024-04-10 re-referral (A + 4 full months: straddles the period start), assessment
                2024-05-20 -> CIN plan, meeting 2024-06-03, review 2024-07-15 closes (plan 42 days)
    C  childc  2024-12-02 referral, assessment completed 2025-02-06 = the 45th working day,
                counted across 25, 26 Dec and 1 Jan -> step down to early help
    D  childd  2024-12-02 referral, assessment completed 2025-02-07 = 46th working day -> NFA
    E  childe  2024-06-05 referral, NFA the same day (closed the day it opened)
    F  childf  2024-07-01 referral, early help at the front door 2024-07-02
    G  childg  2024-09-02 referral, strategy discussion, ICPC 2024-09-20 -> CP plan (open)
    H  childc  2025-01-20 re-referral (C + 1 full month), in assessment, overdue on 31 Mar
    I  childi  2024-05-01 referral, assessment 2024-06-10 -> plan, meeting 2024-06-24 (open plan)
    J  childj  2024-03-25 referral (before the period), assessment 2024-04-15 over Easter -> NFA
    K1 childk  2023-05-01 referral, CP plan 2023-05-20, a CP review closes it 2023-12-01
    K2 childk  2024-10-01 referral (17 months on: not a re-referral), CP plan 2024-10-15: a repeat
    L  childl  2024-04-02 referral, plan 2024-05-07, panel, final meeting 2024-07-22 (76 days)

G and I are allocated to W1, H to W2; K2 is unallocated.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine

from models.cases.store import open_case, record
from models.lifecycle import (
    AssessmentCompleted,
    CinMeetingHeld,
    CpReviewHeld,
    Event,
    FinalMeetingHeld,
    IcpcHeld,
    PlanDistributed,
    ReferralDecision,
    ReferralReceived,
    ReviewHeld,
    S47Started,
    StepDownPanel,
    VisitRecorded,
)
from models.policy.book import PolicyBook
from models.staff.roster import parse_staff_csv
from models.staff.store import allocate, import_staff

START, END = date(2024, 4, 1), date(2025, 3, 31)


def d(text: str) -> date:
    return date.fromisoformat(text)


def _referral(on: str) -> ReferralReceived:
    return ReferralReceived(on=d(on), source="2A")


def _decision(on: str, outcome: str) -> ReferralDecision:
    return ReferralDecision(on=d(on), outcome=outcome)  # type: ignore[arg-type]


def _assessed(referral: str, completed: str, outcome: str) -> list[Event]:
    after = d(referral).toordinal() + 1
    return [
        _referral(referral),
        ReferralDecision(on=date.fromordinal(after), outcome="assessment"),
        AssessmentCompleted(on=d(completed), outcome=outcome),  # type: ignore[arg-type]
    ]


def _cp(referral: str, discussion: str, icpc: str) -> list[Event]:
    return [
        _referral(referral),
        ReferralDecision(on=d(discussion), outcome="strategy_discussion"),
        S47Started(on=d(discussion)),  # the strategy discussion: the ICPC counts from it
        IcpcHeld(on=d(icpc), outcome="cp_plan"),
    ]


HISTORIES: dict[str, tuple[str, list[Event]]] = {
    "A": ("childa", [_referral("2023-11-15"), _decision("2023-11-16", "nfa")]),
    "B": (
        "childa",
        [
            *_assessed("2024-04-10", "2024-05-20", "cin_plan"),
            CinMeetingHeld(on=d("2024-06-03")),
            ReviewHeld(on=d("2024-07-15"), outcome="close"),
        ],
    ),
    "C": ("childc", _assessed("2024-12-02", "2025-02-06", "step_down")),
    "D": ("childd", _assessed("2024-12-02", "2025-02-07", "nfa")),
    "E": ("childe", [_referral("2024-06-05"), _decision("2024-06-05", "nfa")]),
    "F": (
        "childf",
        [_referral("2024-07-01"), ReferralDecision(on=d("2024-07-02"), outcome="early_help")],
    ),
    "G": ("childg", _cp("2024-09-02", "2024-09-03", "2024-09-20")),
    "H": (
        "childc",
        [_referral("2025-01-20"), ReferralDecision(on=d("2025-01-21"), outcome="assessment")],
    ),
    "I": (
        "childi",
        [
            *_assessed("2024-05-01", "2024-06-10", "cin_plan"),
            CinMeetingHeld(on=d("2024-06-24")),
            PlanDistributed(on=d("2024-07-01")),
            VisitRecorded(on=d("2024-07-15")),
        ],
    ),
    "J": ("childj", _assessed("2024-03-25", "2024-04-15", "nfa")),
    "K1": (
        "childk",
        [
            *_cp("2023-05-01", "2023-05-02", "2023-05-20"),
            CpReviewHeld(on=d("2023-12-01"), outcome="close"),
        ],
    ),
    "K2": ("childk", _cp("2024-10-01", "2024-10-02", "2024-10-15")),
    "L": (
        "childl",
        [
            *_assessed("2024-04-02", "2024-04-30", "cin_plan"),
            CinMeetingHeld(on=d("2024-05-07")),
            ReviewHeld(on=d("2024-06-18"), outcome="step_down_panel"),
            StepDownPanel(on=d("2024-07-01"), outcome="accepted"),
            FinalMeetingHeld(on=d("2024-07-22")),
        ],
    ),
}

STAFF = """staff_id,name,email,role,team,manager_id
HS1,Head,hs1@council.example,head_of_service,,
SM1,Service,sm1@council.example,service_manager,,HS1
TM1,Team,tm1@council.example,team_manager,cin-east,SM1
W1,Worker One,w1@council.example,worker,cin-east,TM1
W2,Worker Two,w2@council.example,worker,cin-east,TM1
"""
# each dated the day after its referral (the report counts who held a case on --to)
ALLOCATIONS = {"G": ("W1", date(2024, 9, 3)), "I": ("W1", date(2024, 5, 2)),
               "H": ("W2", date(2025, 1, 21))}  # fmt: skip


def build(engine: Engine, book: PolicyBook, authority: str = "redbridge") -> dict[str, str]:
    """Record every history (in date order of their first event); the case reference of each."""
    refs: dict[str, str] = {}
    ordered = sorted(HISTORIES.items(), key=lambda item: item[1][1][0].on)
    for name, (child, events) in ordered:
        first, *rest = events
        opened = open_case(engine, policies=book, authority=authority, child_ref=child, event=first)
        for event in rest:
            record(engine, policies=book, case_ref=opened.case_ref, event=event)
        refs[name] = opened.case_ref
    import_staff(engine, authority=authority, rows=parse_staff_csv(STAFF))
    for name, (worker, on) in ALLOCATIONS.items():
        allocate(engine, case_ref=refs[name], worker_id=worker, on=on)
    return refs
