"""Whole case histories with the due date of every clock, under the fake Redbridge policy.

Due dates by hand: working days are weekdays (no bank holidays in the fake), day 0 is the event.
"""

from __future__ import annotations

from models.lifecycle import (
    AssessmentCompleted,
    AssessmentStarted,
    CaseClosed,
    CinMeetingHeld,
    FinalMeetingHeld,
    IcpcHeld,
    PlanDistributed,
    ReferralDecision,
    ReferralReceived,
    ReviewHeld,
    S47Started,
    Stage,
    StepDownPanel,
    TransferIn,
    TransferOut,
    VisitFrequency,
    VisitRecorded,
    apply,
    rebuild,
)
from tests.models.lifecycle.fakes import redbridge
from tests.models.lifecycle.helpers import Step, d, run

S = Stage

REDBRIDGE_TO_STEP_DOWN = [
    Step(
        ReferralReceived(on=d("2025-01-06"), source="2A", primary_need="N4"),
        S.REFERRAL,
        [("open", "referral_decision", "2025-01-07")],
    ),
    Step(
        ReferralDecision(on=d("2025-01-07"), outcome="assessment"),
        S.ASSESSMENT,
        [
            ("met", "referral_decision", "2025-01-07"),
            ("open", "assessment_completed", "2025-03-10"),
        ],
    ),
    Step(AssessmentStarted(on=d("2025-01-08")), S.ASSESSMENT),
    Step(
        AssessmentCompleted(on=d("2025-02-10"), outcome="cin_plan"),
        S.PLAN_PENDING,
        [
            ("met", "assessment_completed", "2025-03-10"),
            ("open", "cin_plan_meeting", "2025-03-03"),  # 15 WD from the plan decision
            ("open", "plan_in_place", "2025-04-06"),  # 3 months from the referral
        ],
    ),
    Step(
        CinMeetingHeld(on=d("2025-02-24"), visit_frequency=VisitFrequency(amount=4, unit="weeks")),
        S.CIN_PLAN,
        [
            ("met", "cin_plan_meeting", "2025-03-03"),
            ("met", "plan_in_place", "2025-04-06"),
            ("open", "plan_distributed", "2025-03-10"),  # 10 WD
            ("open", "review#1", "2025-04-07"),  # 6 weeks from the plan start
            ("open", "visit#1", "2025-03-24"),  # the plan's own frequency: 4 weeks
        ],
    ),
    Step(
        PlanDistributed(on=d("2025-03-12")),
        S.CIN_PLAN,
        [("met_late", "plan_distributed", "2025-03-10")],
    ),
    Step(
        VisitRecorded(on=d("2025-03-20")),
        S.CIN_PLAN,
        [("met", "visit#1", "2025-03-24"), ("open", "visit#2", "2025-04-17")],
    ),
    Step(
        ReviewHeld(on=d("2025-04-07"), outcome="continue"),
        S.CIN_PLAN,
        [
            ("met", "review#1", "2025-04-07"),
            ("open", "plan_distributed#2", "2025-04-21"),  # 003 L122: after every meeting
            ("open", "review#2", "2025-10-07"),
        ],
    ),
    Step(
        PlanDistributed(on=d("2025-04-15")),
        S.CIN_PLAN,
        [("met", "plan_distributed#2", "2025-04-21")],
    ),
    Step(
        ReviewHeld(on=d("2025-10-14"), outcome="change"),
        S.CIN_PLAN,
        [
            ("met_late", "review#2", "2025-10-07"),
            ("open", "plan_distributed#3", "2025-10-28"),
            ("open", "review#3", "2026-04-14"),
        ],
    ),
    Step(
        PlanDistributed(on=d("2025-10-20")),
        S.CIN_PLAN,
        [("met", "plan_distributed#3", "2025-10-28")],
    ),
    Step(
        # the first review after the plan's 12 months (2026-02-24), chaired as 003 L131 asks:
        # nothing was due for it, and nothing is met
        ReviewHeld(on=d("2026-03-02"), outcome="step_down_panel", chair="team_manager"),
        S.STEP_DOWN_PANEL,
        [
            ("met", "review#3", "2026-04-14"),
            ("open", "plan_distributed#4", "2026-03-16"),
            ("open", "review#4", "2026-09-02"),
            ("open", "step_down_panel", "2026-03-16"),  # 10 WD
        ],
    ),
    Step(
        StepDownPanel(on=d("2026-03-10"), outcome="accepted"),
        S.FINAL_MEETING,
        [("met", "step_down_panel", "2026-03-16")],
    ),
]


def test_redbridge_referral_to_step_down_and_closure() -> None:
    steps = [
        *REDBRIDGE_TO_STEP_DOWN,
        Step(
            FinalMeetingHeld(on=d("2026-03-20")),
            S.CLOSED,
            [
                ("unmet", "plan_distributed#4", "2026-03-16"),
                ("cancelled", "review#4", "2026-09-02"),
                ("unmet", "visit#2", "2025-04-17"),
            ],
        ),
    ]
    state = run(redbridge(), steps)
    # a plan stepped down through the panel: the census code for services ceasing, not RC9
    assert state.closure_reason == "RC7"
    assert state.closed_on == d("2026-03-20")
    assert state.deadlines == ()
    assert state.reviews_held == 3
    assert state.consecutive_continues == 0
    assert state.events_applied == len(steps)
    assert rebuild([s.event for s in steps], redbridge()) == state


def test_opened_deadlines_carry_the_policy_explanation() -> None:
    state = run(redbridge(), REDBRIDGE_TO_STEP_DOWN[:4])
    transition = apply(state, REDBRIDGE_TO_STEP_DOWN[4].event, redbridge())
    opened = {c.key: c for c in transition.changes if c.action.value == "open"}
    review = opened["review#1"]
    assert review.start == d("2025-02-24")
    assert review.policy_ref == "redbridge v1"
    assert review.explanation == "6 weeks from first_review on 2025-02-24 under redbridge v1"
    assert review.source == "fake first_review"


def test_step_down_rejected_returns_to_the_plan_with_reviews_running() -> None:
    steps = [
        *REDBRIDGE_TO_STEP_DOWN[:-1],
        Step(
            StepDownPanel(on=d("2026-03-20"), outcome="rejected"),
            S.CIN_PLAN,
            [("met_late", "step_down_panel", "2026-03-16")],
        ),
        Step(
            ReviewHeld(on=d("2026-09-01"), outcome="continue"),
            S.CIN_PLAN,
            [
                ("met", "review#4", "2026-09-02"),
                ("unmet", "plan_distributed#4", "2026-03-16"),
                ("open", "plan_distributed#5", "2026-09-15"),
                ("open", "review#5", "2027-03-01"),
            ],
        ),
        Step(
            ReviewHeld(on=d("2027-03-01"), outcome="close"),
            S.CLOSED,
            [
                ("met", "review#5", "2027-03-01"),
                ("unmet", "plan_distributed#5", "2026-09-15"),
                ("unmet", "visit#2", "2025-04-17"),
            ],
        ),
    ]
    state = run(redbridge(), steps)
    assert state.closure_reason == "RC7"


def test_transfer_in_meeting_within_20_working_days_of_residence_then_transfer_out() -> None:
    steps = [
        Step(
            TransferIn(on=d("2025-05-01"), primary_need="N1"),
            S.PLAN_PENDING,
            [("open", "transfer_in_meeting", "2025-05-29")],
        ),
        Step(
            CinMeetingHeld(
                on=d("2025-06-02"), visit_frequency=VisitFrequency(amount=2, unit="weeks")
            ),
            S.CIN_PLAN,
            [
                ("met_late", "transfer_in_meeting", "2025-05-29"),
                ("open", "plan_distributed", "2025-06-16"),
                ("open", "review#1", "2025-07-14"),
                ("open", "visit#1", "2025-06-16"),  # the plan's own frequency
            ],
        ),
        Step(
            TransferOut(on=d("2025-06-10")),
            S.CLOSED,
            [
                ("cancelled", "plan_distributed", "2025-06-16"),
                ("cancelled", "review#1", "2025-07-14"),
                ("cancelled", "visit#1", "2025-06-16"),
            ],
        ),
    ]
    state = run(redbridge(), steps)
    assert state.transferred_in and state.referral_source == "5C"
    assert state.referral_date == d("2025-05-01")
    assert state.closure_reason == "RC5"


PLAN_IN_FORCE = REDBRIDGE_TO_STEP_DOWN[:5]  # up to the CIN meeting on 2025-02-24


def test_review_escalates_to_s47_then_cp_plan_cancels_the_cin_plan() -> None:
    steps = [
        *PLAN_IN_FORCE,
        Step(
            ReviewHeld(on=d("2025-04-03"), outcome="escalate"),
            S.CHILD_PROTECTION,
            [
                ("met", "review#1", "2025-04-07"),
                ("unmet", "plan_distributed", "2025-03-10"),  # never sent: missed, not cancelled
                ("open", "plan_distributed#2", "2025-04-17"),
                ("open", "review#2", "2025-10-03"),  # the plan stays in force until the ICPC
            ],
        ),
        Step(
            # the strategy discussion, four days after the review: the ICPC counts from it
            S47Started(on=d("2025-04-07")),
            S.CHILD_PROTECTION,
            [("open", "icpc", "2025-04-28")],  # 15 WD from 7 April
        ),
        Step(
            VisitRecorded(on=d("2025-04-10")),
            S.CHILD_PROTECTION,
            [("met_late", "visit#1", "2025-03-24"), ("open", "visit#2", "2025-05-08")],
        ),
        Step(
            IcpcHeld(on=d("2025-04-24"), outcome="cp_plan"),
            S.CP_PLAN,
            [
                ("met", "icpc", "2025-04-28"),
                ("unmet", "plan_distributed#2", "2025-04-17"),
                ("cancelled", "review#2", "2025-10-03"),
                ("cancelled", "visit#2", "2025-05-08"),
                ("open", "cp_review#1", "2025-07-24"),  # 3 months from the ICPC
            ],
        ),
        Step(
            CaseClosed(on=d("2025-12-01"), reason="RC3"),
            S.CLOSED,
            [("unmet", "cp_review#1", "2025-07-24")],
        ),
    ]
    run(redbridge(), steps)


def test_s47_with_no_cp_plan_returns_to_the_cin_plan_with_its_clocks() -> None:
    steps = [
        *PLAN_IN_FORCE,
        Step(S47Started(on=d("2025-03-03")), S.CHILD_PROTECTION, [("open", "icpc", "2025-03-24")]),
        Step(
            IcpcHeld(on=d("2025-03-26"), outcome="no_plan"),
            S.CIN_PLAN,
            [("met_late", "icpc", "2025-03-24")],
        ),
    ]
    state = run(redbridge(), steps)
    assert {dl.key for dl in state.deadlines} == {"plan_distributed", "review#1", "visit#1"}


def test_strategy_discussion_at_referral_runs_the_assessment_beside_the_icpc() -> None:
    steps = [
        REDBRIDGE_TO_STEP_DOWN[0],
        Step(
            ReferralDecision(on=d("2025-01-06"), outcome="strategy_discussion"),
            S.CHILD_PROTECTION,
            [
                ("met", "referral_decision", "2025-01-07"),
                ("open", "assessment_completed", "2025-03-10"),
            ],
        ),
        Step(S47Started(on=d("2025-01-06")), S.CHILD_PROTECTION, [("open", "icpc", "2025-01-27")]),
        Step(
            IcpcHeld(on=d("2025-01-24"), outcome="no_plan"),
            S.ASSESSMENT,
            [("met", "icpc", "2025-01-27")],
        ),
        Step(
            AssessmentCompleted(on=d("2025-02-03"), outcome="nfa"),
            S.CLOSED,
            [("met", "assessment_completed", "2025-03-10")],
        ),
    ]
    state = run(redbridge(), steps)
    # issue 19 point 10: s47 enquiries ran, so not RC8 (DfE rule 2990 refuses RC8/RC9 on an
    # episode with s47 activity) but RC7, "services ceased for any other reason" (CODES.md)
    assert state.closure_reason == "RC7"
    assert not state.referral_nfa  # an assessment took place


def test_assessment_escalates_and_an_icpc_without_a_plan_leaves_the_decision_to_the_council() -> (
    None
):
    # issue 19 point 4: after enquiries end with no plan the outcomes are the council's (001
    # L353-355: continue or start a CIN plan, step down, or close): no CIN plan clocks assumed
    steps = [
        *REDBRIDGE_TO_STEP_DOWN[:2],
        Step(
            AssessmentCompleted(on=d("2025-02-03"), outcome="escalate"),
            S.CHILD_PROTECTION,
            [("met", "assessment_completed", "2025-03-10")],
        ),
        Step(S47Started(on=d("2025-02-03")), S.CHILD_PROTECTION, [("open", "icpc", "2025-02-24")]),
        Step(
            IcpcHeld(on=d("2025-02-20"), outcome="no_plan"),
            S.DECISION,
            [("met", "icpc", "2025-02-24")],
        ),
        # the council decides on a CIN plan: Redbridge's first review 6 weeks from Mon 3 Mar
        Step(
            CinMeetingHeld(on=d("2025-03-03")),
            S.CIN_PLAN,
            [("open", "plan_distributed", "2025-03-17"), ("open", "review#1", "2025-04-14")],
        ),
    ]
    run(redbridge(), steps)


def test_front_door_decisions_close_with_the_census_reasons() -> None:
    referral = REDBRIDGE_TO_STEP_DOWN[0]
    nfa = run(
        redbridge(),
        [
            referral,
            Step(
                ReferralDecision(on=d("2025-01-08"), outcome="nfa"),
                S.CLOSED,
                [("met_late", "referral_decision", "2025-01-07")],
            ),
        ],
    )
    assert (nfa.closure_reason, nfa.referral_nfa) == ("RC8", True)
    early_help = run(
        redbridge(),
        [
            referral,
            Step(
                ReferralDecision(on=d("2025-01-07"), outcome="early_help"),
                S.CLOSED,
                [("met", "referral_decision", "2025-01-07")],
            ),
        ],
    )
    assert (early_help.closure_reason, early_help.referral_nfa) == ("RC9", True)


def test_assessment_step_down_closes_rc9() -> None:
    steps = [
        *REDBRIDGE_TO_STEP_DOWN[:2],
        Step(
            AssessmentCompleted(on=d("2025-03-11"), outcome="step_down"),
            S.CLOSED,
            [("met_late", "assessment_completed", "2025-03-10")],
        ),
    ]
    assert run(redbridge(), steps).closure_reason == "RC9"
