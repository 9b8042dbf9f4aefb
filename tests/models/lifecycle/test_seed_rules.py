"""Issue 8, points 1-8: each clock as the councils' documents set it, under the REAL policies.

Each test quotes the sentence it enforces (seed file and line, ../shared/seeds/) and checks it with
dates counted by hand on England's calendar (bank holidays 2025: 18 and 21 Apr, 5 and 26 May,
25 Aug; 2026: 3 and 6 Apr). Day 0 is the event; "N working days" is the N-th working day after it.
Points 9-12 are `test_policy.py`, `tests/cli/test_policy_cli.py` and `test_store_seed_rules.py`;
point 5's property over every reachable state is `test_lifecycle_stateful.py`.
"""

from __future__ import annotations

from datetime import date

import pytest

from models.lifecycle import (
    AssessmentCompleted,
    CaseClosed,
    CaseState,
    CinMeetingHeld,
    ConsentWithdrawn,
    CoreGroupHeld,
    CpReviewHeld,
    Event,
    EventRefused,
    FinalMeetingHeld,
    IcpcHeld,
    ReferralDecision,
    ReferralReceived,
    ReviewHeld,
    S47Concluded,
    S47Started,
    Stage,
    StepDownPanel,
    SupportStarted,
    Transition,
    VisitFrequency,
    VisitRecorded,
    apply,
    rebuild,
)
from models.lifecycle.drift import REVIEW_CHAIR_KIND, drift_findings
from models.policy.book import PolicyBook
from models.policy.timescales import TimescaleKind as K
from tests.models.lifecycle.helpers import changes_of, d, play


def state_of(book: PolicyBook, slug: str, events: list[Event]) -> CaseState:
    return rebuild(events, book.authority(slug))


def step(book: PolicyBook, slug: str, events: list[Event], event: Event) -> Transition:
    return apply(state_of(book, slug, events), event, book.authority(slug))


REFERRAL = ReferralReceived(on=d("2025-01-06"), source="2A")  # Monday
ASSESSING = [REFERRAL, ReferralDecision(on=d("2025-01-07"), outcome="assessment")]
PLAN_DECIDED = [*ASSESSING, AssessmentCompleted(on=d("2025-02-10"), outcome="cin_plan")]
# Redbridge: the plan starts at the CIN meeting on Mon 24 Feb 2025; first review 6 weeks: 7 Apr
IN_PLAN = [*PLAN_DECIDED, CinMeetingHeld(on=d("2025-02-24"))]


# -- 1. Warwickshire's 20 working days ------------------------------------------------------------


def test_1_warwickshire_20_wd_run_from_the_initial_home_visit_to_support(book: PolicyBook) -> None:
    """002 L166 (4.4.2): "if the threshold for intervention at a child in need level is agreed and
    the family consent to child in need support this will be initiated by the assessing social
    worker as a priority within a maximum of 20 working days from the initial home visit."
    002 sets no assessment timescale: the assessment is due at the statutory 45 WD."""
    events = [
        ReferralReceived(on=d("2025-06-02"), source="2A"),  # Monday
        ReferralDecision(on=d("2025-06-03"), outcome="assessment"),
        VisitRecorded(on=d("2025-06-05")),  # Thursday: the initial home visit
        AssessmentCompleted(on=d("2025-06-20"), outcome="cin_plan"),
        SupportStarted(on=d("2025-07-01")),
    ]
    decision, visit, completed, support = play(book.authority("warwickshire"), events)[1:]
    # 45 WD from Mon 2 Jun: 3-6 Jun (4), eight whole weeks 9 Jun-1 Aug (44), Mon 4 Aug (45);
    # no bank holiday between
    assert ("open", "assessment_completed", "2025-08-04") in changes_of(decision)
    # issue 19 point 4: "if the threshold ... is agreed and the family consent": nothing is due
    # at the visit; the clock opens when the assessment agrees a plan with consent
    assert changes_of(visit) == []
    # 20 WD from Thu 5 Jun: 6 Jun (1), 9-27 Jun (16), 30 Jun-3 Jul (20): Thu 3 Jul
    assert ("open", "cin_support_initiated", "2025-07-03") in changes_of(completed)
    (opened,) = [c for c in completed.changes if c.kind is K.CIN_SUPPORT_INITIATED]
    assert (
        opened.explanation is not None
        and "from initial home visit on 2025-06-05" in opened.explanation
    )
    assert opened.source is not None and opened.source.startswith("local: 002 s4.4.2")
    assert ("met", "assessment_completed", "2025-08-04") in changes_of(completed)
    # support began on Tue 1 Jul, before the CIN meeting: the explicit event meets the clock
    assert changes_of(support) == [("met", "cin_support_initiated", "2025-07-03")]


def test_1_warwickshire_20_wd_with_no_home_visit_recorded_says_it_counts_from_the_decision(
    book: PolicyBook,
) -> None:
    """002 L166 counts the 20 WD from the initial home visit; where none was recorded the engine
    counts from the plan decision (an engine choice, noted), and the explanation names that day,
    not an "initial home visit" that never happened (demo case WAR-000020 said so)."""
    events = [
        ReferralReceived(on=d("2025-06-02"), source="2A"),  # Monday
        ReferralDecision(on=d("2025-06-03"), outcome="assessment"),
        AssessmentCompleted(on=d("2025-06-20"), outcome="cin_plan"),  # Friday; no visit
    ]
    completed = play(book.authority("warwickshire"), events)[-1]
    # 20 WD from Fri 20 Jun: 23-27 Jun (5), 30 Jun-18 Jul (20): Fri 18 Jul
    assert ("open", "cin_support_initiated", "2025-07-18") in changes_of(completed)
    (opened,) = [c for c in completed.changes if c.kind is K.CIN_SUPPORT_INITIATED]
    assert opened.explanation is not None
    assert "from plan decision (no initial home visit recorded) on 2025-06-20" in (
        opened.explanation
    )
    assert "from initial home visit" not in opened.explanation


# -- 2. Consent ----------------------------------------------------------------------------------


def test_2_refused_consent_opens_no_plan_clocks_and_the_case_closes(book: PolicyBook) -> None:
    """002 L136: "Parents must **consent** to receive a children in need service"; 003 L120 (the
    multi-agency parental consent form). Section 17 support is voluntary."""
    refused = step(
        book,
        "redbridge",
        ASSESSING,
        AssessmentCompleted(on=d("2025-02-10"), outcome="cin_plan", consent=False),
    )
    assert refused.state.stage is Stage.NO_CONSENT
    # the assessment (due Mon 10 Mar, 45 WD from 6 Jan) is met; no CIN meeting, no plan in place;
    # issue 19 point 4e: the council's next step is owed (engine default 10 WD: Mon 24 Feb)
    assert changes_of(refused) == [
        ("met", "assessment_completed", "2025-03-10"),
        ("open", "no_consent_decision", "2025-02-24"),
    ]
    closed = apply(
        refused.state, CaseClosed(on=d("2025-02-12"), reason="RC8"), book.authority("redbridge")
    )
    assert closed.state.closure_reason == "RC8"  # closed after assessment: no plan was made
    assert ("met", "no_consent_decision", "2025-02-24") in changes_of(closed)


def test_2_withdrawn_consent_stops_the_plan_which_closes_rc7(book: PolicyBook) -> None:
    """002 L136 again: consent withdrawn ends support; the plan's clocks stop."""
    withdrawn = step(book, "redbridge", IN_PLAN, ConsentWithdrawn(on=d("2025-03-03")))
    assert withdrawn.state.stage is Stage.NO_CONSENT
    # only the council's next step is owed (issue 19 point 4e, engine default: Mon 3 Mar + 10 WD)
    assert [(o.key, o.due) for o in withdrawn.state.deadlines] == [
        ("no_consent_decision", d("2025-03-17"))
    ]
    assert {c.action.value for c in withdrawn.changes} == {"cancelled", "open"}
    policy = book.authority("redbridge")
    with pytest.raises(EventRefused, match="census rejects it on an episode with a plan"):
        apply(withdrawn.state, CaseClosed(on=d("2025-03-04"), reason="RC9"), policy)
    assert (
        apply(withdrawn.state, CaseClosed(on=d("2025-03-04"), reason="RC7"), policy).state.is_open
        is False
    )


# -- 3. Who chairs after 12 months ---------------------------------------------------------------

# plan start Mon 24 Feb 2025; 12 months on: Tue 24 Feb 2026
REVIEWED = [
    *IN_PLAN,
    ReviewHeld(on=d("2025-04-07"), outcome="continue"),
    ReviewHeld(on=d("2025-10-06"), outcome="continue"),
]


def test_3_the_12_month_rule_is_about_the_chair_not_a_date(book: PolicyBook) -> None:
    """003 L131: "If a Plan has been in place for 12 months the next review must be chaired by a
    Team Manager or Senior Practitioner". Nothing is due and nothing escalates before then."""
    history = play(book.authority("redbridge"), REVIEWED)
    assert not any(c.kind is K.TEAM_MANAGER_REVIEW for t in history for c in t.changes)
    # the day before the plan is 12 months old, a social worker chairs: no finding
    early = step(
        book,
        "redbridge",
        REVIEWED,
        ReviewHeld(on=d("2026-02-23"), outcome="continue", chair="social_worker"),
    )
    assert early.state.chair_finding is None
    # the first review on or after 24 Feb 2026 chaired by someone else: a finding
    late = step(
        book,
        "redbridge",
        REVIEWED,
        ReviewHeld(on=d("2026-03-02"), outcome="continue", chair="social_worker"),
    )
    assert late.state.chair_finding == d("2026-03-02")
    (finding,) = [f for f in drift_findings(late.state) if f.kind == REVIEW_CHAIR_KIND]
    assert "003 L131" in finding.explanation
    # chaired by a senior practitioner: as the rule asks, no finding
    chaired = step(
        book,
        "redbridge",
        REVIEWED,
        ReviewHeld(on=d("2026-03-02"), outcome="continue", chair="senior_practitioner"),
    )
    assert chaired.state.chair_finding is None
    # the finding lasts until the next review, which the rule no longer concerns
    after = apply(
        late.state, ReviewHeld(on=d("2026-04-01"), outcome="continue"), book.authority("redbridge")
    )
    assert after.state.chair_finding is None


# -- 4. Child protection ---------------------------------------------------------------------------


def test_4_the_icpc_counts_from_the_strategy_discussion_on_every_route(book: PolicyBook) -> None:
    """seeds README.md L17 (Working Together): "an initial child protection conference within 15
    working days of the strategy discussion". A review escalates on Mon 7 Apr 2025; the strategy
    discussion is Thu 10 Apr."""
    escalated = step(book, "redbridge", IN_PLAN, ReviewHeld(on=d("2025-04-07"), outcome="escalate"))
    assert escalated.state.stage is Stage.CHILD_PROTECTION
    assert not any(c.kind is K.ICPC for c in escalated.changes)  # nothing counted from the review
    policy = book.authority("redbridge")
    with pytest.raises(EventRefused, match="strategy discussion first"):
        apply(escalated.state, IcpcHeld(on=d("2025-04-08"), outcome="no_plan"), policy)
    strategy = apply(escalated.state, S47Started(on=d("2025-04-10")), policy)
    # 15 WD from Thu 10 Apr: 11 Apr (1), 14-17 Apr (5), skip 18 and 21 Apr, 22-25 Apr (9),
    # 28 Apr-2 May (14), skip 5 May, Tue 6 May (15)
    # the strategy discussion owed since the escalation (engine default, 3 WD: Mon 7 Apr ->
    # 8, 9, Thu 10 Apr) is met the day it is held
    assert ("open", "strategy_discussion", "2025-04-10") in changes_of(escalated)
    assert changes_of(strategy) == [
        ("met", "strategy_discussion", "2025-04-10"),
        ("open", "icpc", "2025-05-06"),
    ]
    # enquiries conclude that no conference is needed: the clock is cancelled, not escalated
    concluded = apply(
        strategy.state, S47Concluded(on=d("2025-04-24"), outcome="icpc_not_required"), policy
    )
    assert ("cancelled", "icpc", "2025-05-06") in changes_of(concluded)
    assert concluded.state.stage is Stage.CIN_PLAN


def test_4_cp_reviews_3_months_then_6_and_the_plan_ends_to_a_cin_plan(book: PolicyBook) -> None:
    """seeds README.md L17-18: "the first child protection review within 3 months of it, then at
    most every 6 months"."""
    events: list[Event] = [
        *ASSESSING,
        S47Started(on=d("2025-01-08")),
        IcpcHeld(on=d("2025-01-29"), outcome="cp_plan"),
        CpReviewHeld(on=d("2025-04-28"), outcome="continue"),
        CpReviewHeld(on=d("2025-10-27"), outcome="cin_plan"),
    ]
    *_, icpc, first, ended = play(book.authority("redbridge"), events)
    assert ("open", "cp_review#1", "2025-04-29") in changes_of(icpc)  # 29 Jan + 3 months
    assert changes_of(first) == [
        ("met", "cp_review#1", "2025-04-29"),
        ("open", "cp_review#2", "2025-10-28"),  # 28 Apr + 6 months
    ]
    # back to a CIN plan: the CIN meeting (Redbridge 003 s3: 15 WD) from this decision on Mon
    # 27 Oct: 28-31 Oct (4), 3-14 Nov (14), Mon 17 Nov (15)
    assert changes_of(ended) == [
        ("met", "cp_review#2", "2025-10-28"),
        # this history never records the core group (Wed 29 Jan + 10 WD = Wed 12 Feb)
        ("unmet", "first_core_group", "2025-02-12"),  # missed: stays missed
        ("open", "cin_plan_meeting", "2025-11-17"),
    ]
    assert ended.state.stage is Stage.PLAN_PENDING


def test_4_the_first_core_group_within_10_working_days_of_the_icpc(book: PolicyBook) -> None:
    """Working Together 2018 ch.1, flow chart 4 (issue 19 point 4): the core group first meets
    within 10 working days of the ICPC that made the plan. ICPC Wed 29 Jan 2025: 30, 31 Jan (2),
    3-7 Feb (7), 10, 11, Wed 12 Feb (10)."""
    events: list[Event] = [
        *ASSESSING,
        S47Started(on=d("2025-01-08")),
        IcpcHeld(on=d("2025-01-29"), outcome="cp_plan"),
        CoreGroupHeld(on=d("2025-02-11")),
    ]
    *_, icpc, core = play(book.authority("stockton-on-tees"), events)
    assert ("open", "first_core_group", "2025-02-12") in changes_of(icpc)
    (opened,) = [c for c in icpc.changes if c.kind is K.FIRST_CORE_GROUP]
    assert opened.source is not None and opened.source.startswith("statutory: Working Together")
    assert changes_of(core) == [("met", "first_core_group", "2025-02-12")]
    # issue 19 point 1: the assessment (from ASSESSING, never completed) is still running
    assert any(d.kind is K.ASSESSMENT_COMPLETED for d in core.state.deadlines)


# -- 5. No clock that no event can meet ------------------------------------------------------------


def test_5_a_review_due_while_waiting_on_the_panel_can_be_recorded(book: PolicyBook) -> None:
    """003 s5 (L129): reviews at 6 weeks, then at least every 6 months, while the plan is in force;
    a case waiting on the step-down panel (003 L188) still has its plan."""
    waiting = [*IN_PLAN, ReviewHeld(on=d("2025-04-07"), outcome="step_down_panel")]
    # the next review is due 6 months on, Tue 7 Oct; the panel has not met by then
    review = step(book, "redbridge", waiting, ReviewHeld(on=d("2025-10-06"), outcome="continue"))
    assert ("met", "review#2", "2025-10-07") in changes_of(review)
    assert review.state.stage is Stage.STEP_DOWN_PANEL
    with pytest.raises(EventRefused, match="can continue or change the plan"):
        step(book, "redbridge", waiting, ReviewHeld(on=d("2025-10-06"), outcome="close"))


# -- 6. Visits ----------------------------------------------------------------------------------


def test_6_visits_only_at_the_frequency_the_plan_sets(book: PolicyBook) -> None:
    """003 L202: "There are no specific minimum requirements for visiting a child/young person
    subject to CiN procedures. The visiting frequency should form part of the overall CiN Plan"."""
    without = step(book, "redbridge", PLAN_DECIDED, CinMeetingHeld(on=d("2025-02-24")))
    assert not any(c.kind is K.VISIT for c in without.changes)
    assert any("no visit clock" in note for note in without.notes)
    every_three_weeks = VisitFrequency(amount=3, unit="weeks")
    with_plan = step(
        book,
        "redbridge",
        PLAN_DECIDED,
        CinMeetingHeld(on=d("2025-02-24"), visit_frequency=every_three_weeks),
    )
    assert ("open", "visit#1", "2025-03-17") in changes_of(with_plan)  # 24 Feb + 21 days


# -- 7. Plan copies after every meeting ----------------------------------------------------------


def test_7_copies_within_10_wd_of_every_plan_meeting(book: PolicyBook) -> None:
    """003 L122: "Copies of the Plan should be provided to the child/ren, family and participants
    in the planning and review group within 10 working days of the meeting"."""
    review = step(book, "redbridge", IN_PLAN, ReviewHeld(on=d("2025-04-07"), outcome="continue"))
    # 10 WD from Mon 7 Apr: 8-11 Apr (4), 14-17 Apr (8), skip 18 and 21 Apr, 22-23 Apr (10)
    assert ("open", "plan_distributed#2", "2025-04-23") in changes_of(review)


# -- 8. Closing a plan ----------------------------------------------------------------------------


def test_8_a_plan_ends_only_at_a_review_that_decides_it(book: PolicyBook) -> None:
    """003 L146: "A CiN Plan should not be ended unless a review has been completed and a decision
    made that the Plan has achieved its objectives/is no longer required"."""
    with pytest.raises(EventRefused, match="003 L146"):
        step(book, "redbridge", IN_PLAN, CaseClosed(on=d("2025-03-03"), reason="RC7"))
    # a reason that ends a plan by itself (RC2: the child died) is accepted
    assert (
        step(
            book, "redbridge", IN_PLAN, CaseClosed(on=d("2025-03-03"), reason="RC2")
        ).state.closure_reason
        == "RC2"
    )
    closed = step(book, "redbridge", IN_PLAN, ReviewHeld(on=d("2025-04-07"), outcome="close"))
    assert closed.state.closure_reason == "RC7"


def test_8_a_plan_stepped_down_closes_rc7_not_rc9(book: PolicyBook) -> None:
    """CIN census (models/census/CODES.md, ReasonForClosure): "RC8 case closed after assessment, no
    further action; RC9 case closed after assessment, referred to early help"; a plan's services
    ceasing is RC7. The step-down panel is 003 L188."""
    stepped = [
        *IN_PLAN,
        ReviewHeld(on=d("2025-04-07"), outcome="step_down_panel"),
        StepDownPanel(on=d("2025-04-14"), outcome="accepted"),
    ]
    final = step(book, "redbridge", stepped, FinalMeetingHeld(on=d("2025-04-28")))
    assert final.state.closure_reason == "RC7"
    with pytest.raises(EventRefused, match="RC9 means closed after assessment"):
        step(
            book,
            "redbridge",
            [*IN_PLAN, ConsentWithdrawn(on=d("2025-03-03"))],
            CaseClosed(on=d("2025-03-04"), reason="RC9"),
        )


def test_the_dates_used_are_working_days(book: PolicyBook) -> None:
    calendar = book.authority("redbridge").on(date(2025, 4, 7)).calendar
    assert not calendar.is_working_day(date(2025, 4, 18)) and not calendar.is_working_day(
        date(2025, 4, 21)
    )
    assert not calendar.is_working_day(date(2025, 5, 5))
