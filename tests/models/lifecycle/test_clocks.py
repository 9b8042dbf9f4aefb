"""Which policy version counts a clock, and the clocks with rules of their own."""

from __future__ import annotations

from calendars.types import Unit
from models.lifecycle import (
    AssessmentCompleted,
    CinMeetingHeld,
    PlanDistributed,
    ReferralDecision,
    ReferralReceived,
    ReviewHeld,
    Stage,
    VisitFrequency,
    VisitRecorded,
)
from models.policy.timescales import TimescaleKind as K
from tests.models.lifecycle.fakes import (
    REDBRIDGE,
    FakePolicyView,
    FakeTimeline,
    national,
    redbridge,
    warwickshire,
)
from tests.models.lifecycle.helpers import changes_of, d, play

REFERRAL = ReferralReceived(on=d("2025-01-06"), source="6")
TO_ASSESSMENT = [REFERRAL, ReferralDecision(on=d("2025-01-06"), outcome="assessment")]
TO_PLAN = [
    *TO_ASSESSMENT,
    AssessmentCompleted(on=d("2025-02-10"), outcome="cin_plan"),
    CinMeetingHeld(on=d("2025-02-24")),
]
# the same plan setting visits every 4 weeks (003 L202: the plan sets the frequency)
TO_PLAN_VISITS = [
    *TO_PLAN[:-1],
    CinMeetingHeld(on=d("2025-02-24"), visit_frequency=VisitFrequency(amount=4, unit="weeks")),
]


def two_versions() -> FakeTimeline:
    """v2 from 1 Feb 2025 shortens "plan in place" to 2 months and reviews to 3 months."""
    v1 = FakePolicyView("redbridge", 1, dict(REDBRIDGE))
    v2 = FakePolicyView(
        "redbridge", 2, {**REDBRIDGE, K.PLAN_IN_PLACE: (2, Unit.MONTHS), K.REVIEW: (3, Unit.MONTHS)}
    )
    return FakeTimeline(((d("2018-01-01"), v1), (d("2025-02-01"), v2)))


def test_each_clock_is_counted_under_the_version_in_force_when_it_starts() -> None:
    transitions = play(two_versions(), TO_PLAN[:3])
    opened = {c.key: c for c in transitions[-1].changes if c.action.value == "open"}
    # opened on 10 Feb (v2 in force) but counted from the referral on 6 Jan (v1 in force)
    assert opened["plan_in_place"].due == d("2025-04-06")
    assert opened["plan_in_place"].policy_ref == "redbridge v1"
    assert opened["cin_plan_meeting"].policy_ref == "redbridge v2"
    review = play(two_versions(), [*TO_PLAN, ReviewHeld(on=d("2025-04-07"), outcome="continue")])
    (next_review,) = [
        c for c in review[-1].changes if c.action.value == "open" and c.kind is K.REVIEW
    ]
    assert (next_review.due, next_review.policy_ref) == (d("2025-07-07"), "redbridge v2")


def test_warwickshire_cin_support_opens_at_the_plan_decision_counted_from_the_home_visit() -> None:
    # 002 s4.4.2 (L166): "following completion of the single assessment, if the threshold is
    # agreed and the family consent", CIN support within 20 WD "from the initial home visit"
    # (issue 19 point 4): nothing is due before the assessment decides; the due date still
    # counts from the visit.
    transitions = play(
        warwickshire(),
        [
            *TO_ASSESSMENT,
            VisitRecorded(on=d("2025-01-09")),
            VisitRecorded(on=d("2025-01-13")),  # not the initial visit
            AssessmentCompleted(on=d("2025-01-31"), outcome="cin_plan"),
            CinMeetingHeld(on=d("2025-02-07")),
        ],
    )
    assert changes_of(transitions[1]) == [
        ("met", "referral_decision", "2025-01-07"),
        # 002 sets no assessment timescale: the national 45 WD, 9 weeks of weekdays
        ("open", "assessment_completed", "2025-03-10"),
    ]
    assert changes_of(transitions[2]) == []  # the visit is kept, no clock yet
    assert transitions[2].state.initial_home_visit == d("2025-01-09")
    assert changes_of(transitions[3]) == []
    # hand count: Thu 9 Jan 2025 + 20 working days (no bank holiday) = Thu 6 Feb 2025, already
    # past when the plan is decided on 31 Jan? no: 31 Jan is before 6 Feb, so it opens due then
    assert changes_of(transitions[4]) == [
        ("met", "assessment_completed", "2025-03-10"),
        ("open", "cin_support_initiated", "2025-02-06"),
    ]
    assert any("no cin_plan_meeting clock" in n for n in transitions[4].notes)
    # the plan sets no visiting frequency: no visit clock (003 L202; 002 sets none either)
    assert changes_of(transitions[5]) == [("met_late", "cin_support_initiated", "2025-02-06")]


def test_warwickshire_assessment_ending_nfa_never_owed_cin_support() -> None:
    # 002 L166: the 20 WD applies only if the assessment agrees the threshold (issue 19 point 4)
    (*_, visit, done) = play(
        warwickshire(),
        [
            *TO_ASSESSMENT,
            VisitRecorded(on=d("2025-01-09")),
            AssessmentCompleted(on=d("2025-02-28"), outcome="nfa"),
        ],
    )
    assert changes_of(visit) == []
    assert [c for c in changes_of(done) if c[1] == "cin_support_initiated"] == []
    assert done.state.stage is Stage.CLOSED


def test_redbridge_has_no_initial_home_visit_clock() -> None:
    (*_, visit) = play(redbridge(), [*TO_ASSESSMENT, VisitRecorded(on=d("2025-01-09"))])
    assert changes_of(visit) == []
    assert visit.state.initial_home_visit is None
    assert visit.notes == ("no visit clock was running; recorded for the timeline",)


def test_without_a_first_review_timescale_the_review_cycle_counts_from_the_plan_start() -> None:
    stockton_like = FakeTimeline(
        ((d("2018-01-01"), FakePolicyView("stockton", 1, {K.REVIEW: (6, Unit.WEEKS)})),)
    )
    (*_, meeting) = play(stockton_like, TO_PLAN)
    assert changes_of(meeting) == [("open", "review#1", "2025-04-07")]
    assert meeting.state.stage is Stage.CIN_PLAN


def test_the_statutory_rules_alone_set_no_plan_clocks_and_no_visits() -> None:
    (*_, meeting, review) = play(
        national(), [*TO_PLAN, ReviewHeld(on=d("2025-04-07"), outcome="continue")]
    )
    assert changes_of(meeting) == []
    assert changes_of(review) == []
    assert "no review was due; counted as a review all the same" in review.notes
    assert review.state.reviews_held == 1


def test_a_review_that_changes_the_visiting_frequency_recounts_the_visit_owed() -> None:
    (*_, visit, review) = play(
        redbridge(),
        [
            *TO_PLAN_VISITS,
            VisitRecorded(on=d("2025-03-03")),
            ReviewHeld(
                on=d("2025-04-07"),
                outcome="change",
                visit_frequency=VisitFrequency(amount=10, unit="working-days"),
            ),
        ],
    )
    assert changes_of(visit)[-1] == ("open", "visit#2", "2025-03-31")
    assert changes_of(review) == [
        ("met", "review#1", "2025-04-07"),
        ("unmet", "visit#2", "2025-03-31"),  # missed before the review: stays missed
        ("open", "visit#3", "2025-03-17"),  # 10 WD from the last visit: already overdue
        # 003 L122: copies within 10 WD of this meeting too; the first meeting's, due Mon 10
        # Mar and never sent, were missed: superseded, they stay missed (issue 19 point 5)
        ("unmet", "plan_distributed", "2025-03-10"),
        ("open", "plan_distributed#2", "2025-04-21"),
        ("open", "review#2", "2025-10-07"),
    ]
    assert review.state.visit_frequency == VisitFrequency(amount=10, unit="working-days")


def test_visits_answer_the_visit_owed_and_start_the_next_from_their_own_date() -> None:
    (*_, first, second, early) = play(
        redbridge(),
        [
            *TO_PLAN_VISITS,
            VisitRecorded(on=d("2025-04-01")),
            VisitRecorded(on=d("2025-04-08")),
            VisitRecorded(on=d("2025-04-02")),  # recorded late, out of order
        ],
    )
    assert changes_of(first) == [
        ("met_late", "visit#1", "2025-03-24"),
        ("open", "visit#2", "2025-04-29"),
    ]
    assert changes_of(second) == [
        ("met", "visit#2", "2025-04-29"),
        ("open", "visit#3", "2025-05-06"),
    ]
    assert changes_of(early) == []
    assert early.state.last_visit == d("2025-04-08")


def test_plan_copies_recorded_twice_are_kept_without_a_clock() -> None:
    (*_, first, second) = play(
        redbridge(),
        [*TO_PLAN, PlanDistributed(on=d("2025-03-03")), PlanDistributed(on=d("2025-03-04"))],
    )
    assert changes_of(first) == [("met", "plan_distributed", "2025-03-10")]
    assert changes_of(second) == []
    assert second.notes == ("no plan copies were due; recorded for the timeline",)
