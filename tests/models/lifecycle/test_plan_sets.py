"""Issue 19 point 6: a plan sets its visits and may set its reviews, under the REAL policies.

- Redbridge 003 L202: "The visiting frequency should form part of the overall CiN Plan and should
  be set out in any planning or review meeting". "Should": a plan without one is accepted and
  flagged for the team manager (drift `visits_unset`) until a meeting sets one. A document that
  says "must" (`plan_must_set_visits`) refuses it; no seed says so, so that is shown on a fake.
- Redbridge 003 L129: "The initial CiN Plan should be reviewed at 6 weeks and thereafter at a
  minimum frequency of 6 months. Some plans may require review on a more frequent basis": a plan
  may set its own interval (`review_every`) within the council's, never beyond it.

Dates counted by hand (England; bank holidays 2025: 18 and 21 Apr, 5 and 26 May).
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from calendars.types import Unit
from models.cases.store import open_case, record
from models.lifecycle import (
    AssessmentCompleted,
    CinMeetingHeld,
    Event,
    EventRefused,
    IcpcHeld,
    ReferralDecision,
    ReferralReceived,
    ReviewHeld,
    S47Started,
    VisitFrequency,
    apply,
    rebuild,
)
from models.lifecycle.drift import VISITS_UNSET_KIND, drift_findings
from models.lifecycle.transition import Transition
from models.policy.book import PolicyBook
from models.policy.timescales import PracticeRule
from models.tables import Drift
from tests.models.lifecycle import fakes
from tests.models.lifecycle.helpers import changes_of


def d(text: str) -> date:
    return date.fromisoformat(text)


PLAN_DECIDED: list[Event] = [
    ReferralReceived(on=d("2025-01-06"), source="2A"),
    ReferralDecision(on=d("2025-01-07"), outcome="assessment"),
    AssessmentCompleted(on=d("2025-02-10"), outcome="cin_plan"),
]
FORTNIGHTLY = VisitFrequency(amount=2, unit=Unit.WEEKS)


def step(book: PolicyBook, slug: str, events: list[Event], event: Event) -> Transition:
    policy = book.authority(slug)
    return apply(rebuild(events, policy), event, policy)


def test_redbridge_flags_a_plan_with_no_visiting_frequency_until_a_review_sets_one(
    book: PolicyBook,
) -> None:
    meeting = CinMeetingHeld(on=d("2025-02-24"))
    held = step(book, "redbridge", PLAN_DECIDED, meeting)
    assert held.state.visits_unset_since == d("2025-02-24")
    (finding,) = drift_findings(held.state)
    assert (finding.kind, finding.since) == (VISITS_UNSET_KIND, d("2025-02-24"))
    assert "003 L202" in finding.explanation
    # a review that does not set one leaves the finding as it was
    plain = ReviewHeld(on=d("2025-04-07"), outcome="continue")
    still = step(book, "redbridge", [*PLAN_DECIDED, meeting], plain)
    assert [f.since for f in drift_findings(still.state)] == [d("2025-02-24")]
    # the next review sets one: the finding is gone, the visit clock opens (Mon 7 Apr + 2 weeks)
    setting = ReviewHeld(on=d("2025-05-06"), outcome="change", visit_frequency=FORTNIGHTLY)
    fixed = step(book, "redbridge", [*PLAN_DECIDED, meeting, plain], setting)
    assert fixed.state.visits_unset_since is None
    assert drift_findings(fixed.state) == ()
    # a plan that sets one from the start is never flagged
    set_at_once = step(
        book,
        "redbridge",
        PLAN_DECIDED,
        CinMeetingHeld(on=d("2025-02-24"), visit_frequency=FORTNIGHTLY),
    )
    assert set_at_once.state.visits_unset_since is None


@pytest.mark.parametrize("slug", ["warwickshire", "stockton-on-tees", "redcar-and-cleveland"])
def test_a_council_whose_document_says_nothing_does_not_flag_it(
    book: PolicyBook, slug: str
) -> None:
    held = step(book, slug, PLAN_DECIDED, CinMeetingHeld(on=d("2025-02-24")))
    assert held.state.visits_unset_since is None
    assert [f.kind for f in drift_findings(held.state)] == []


def test_a_document_that_says_must_refuses_a_plan_without_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(
        fakes.RULES, "musthave", {PracticeRule.PLAN_MUST_SET_VISITS: "a council's 'must'"}
    )
    policy = fakes.timeline(fakes.REDBRIDGE, "musthave")
    state = rebuild(PLAN_DECIDED, policy)
    with pytest.raises(EventRefused, match="visit_frequency: expected how often the child is seen"):
        apply(state, CinMeetingHeld(on=d("2025-02-24")), policy)
    accepted = apply(state, CinMeetingHeld(on=d("2025-02-24"), visit_frequency=FORTNIGHTLY), policy)
    assert accepted.state.visit_frequency == FORTNIGHTLY


def test_a_plan_may_be_reviewed_more_often_than_the_council_sets(book: PolicyBook) -> None:
    """Every 4 weeks from the CIN meeting Mon 24 Feb: the first review Mon 24 Mar (before the
    council's 6 weeks, Mon 7 Apr); held then, the next Mon 21 Apr (not 6 months)."""
    every_4_weeks = VisitFrequency(amount=4, unit=Unit.WEEKS)
    meeting = CinMeetingHeld(
        on=d("2025-02-24"), visit_frequency=FORTNIGHTLY, review_every=every_4_weeks
    )
    held = step(book, "redbridge", PLAN_DECIDED, meeting)
    assert ("open", "review#1", "2025-03-24") in changes_of(held)
    opened = next(c for c in held.changes if c.key == "review#1")
    assert opened.source == "set for this case: plan start"
    review = step(
        book,
        "redbridge",
        [*PLAN_DECIDED, meeting],
        ReviewHeld(on=d("2025-03-24"), outcome="continue"),
    )
    assert ("met", "review#1", "2025-03-24") in changes_of(review)
    assert ("open", "review#2", "2025-04-21") in changes_of(review)


def test_the_first_review_is_never_later_than_the_councils(book: PolicyBook) -> None:
    """Every 2 months from Mon 24 Feb would be Thu 24 Apr, after the council's first review at 6
    weeks (Mon 7 Apr): the first review stays at 7 Apr; the next is 2 months on, Sat 7 Jun."""
    every_2_months = VisitFrequency(amount=2, unit=Unit.MONTHS)
    meeting = CinMeetingHeld(
        on=d("2025-02-24"), visit_frequency=FORTNIGHTLY, review_every=every_2_months
    )
    held = step(book, "redbridge", PLAN_DECIDED, meeting)
    assert ("open", "review#1", "2025-04-07") in changes_of(held)
    review = step(
        book,
        "redbridge",
        [*PLAN_DECIDED, meeting],
        ReviewHeld(on=d("2025-04-07"), outcome="continue"),
    )
    assert ("open", "review#2", "2025-06-07") in changes_of(review)


def test_a_plan_cannot_be_reviewed_less_often_than_the_council_sets(book: PolicyBook) -> None:
    """003 L129: 6 months at most; a plan that sets 7 months is refused, naming the field."""
    seven = VisitFrequency(amount=7, unit=Unit.MONTHS)
    with pytest.raises(EventRefused, match="review_every: expected at most the council's"):
        step(
            book,
            "redbridge",
            PLAN_DECIDED,
            CinMeetingHeld(on=d("2025-02-24"), visit_frequency=FORTNIGHTLY, review_every=seven),
        )


def test_the_finding_is_written_and_resolved_in_the_database(
    engine: Engine, book: PolicyBook
) -> None:
    """SQLite and PostgreSQL: the drift row opens at the CIN meeting and resolves at the review
    that sets a frequency."""
    first, *rest = PLAN_DECIDED
    opened = open_case(engine, policies=book, authority="redbridge", child_ref="c1", event=first)
    for event in (*rest, CinMeetingHeld(on=d("2025-02-24"))):
        record(engine, policies=book, case_ref=opened.case_ref, event=event)

    def rows() -> list[tuple[str, str, date, str]]:
        with Session(engine) as session:
            found = session.exec(select(Drift).where(Drift.kind == VISITS_UNSET_KIND))
            return [(r.key, r.kind, r.since, r.status) for r in found]

    assert rows() == [("visits#2025-02-24", VISITS_UNSET_KIND, d("2025-02-24"), "open")]
    setting = ReviewHeld(on=d("2025-04-07"), outcome="change", visit_frequency=FORTNIGHTLY)
    record(engine, policies=book, case_ref=opened.case_ref, event=setting)
    assert rows() == [("visits#2025-02-24", VISITS_UNSET_KIND, d("2025-02-24"), "resolved")]


def test_the_finding_lasts_through_s47_enquiries_and_ends_with_a_cp_plan(
    engine: Engine, book: PolicyBook
) -> None:
    """SQLite and PostgreSQL: a review escalates (Mon 7 Apr), enquiries and an ICPC without a plan
    (Fri 25 Apr) return to the CIN plan: one drift row, open throughout (a finding that left and
    came back would reuse its key). A second escalation to a CP plan (ICPC Fri 6 Jun) ends it."""
    first, *rest = PLAN_DECIDED
    opened = open_case(engine, policies=book, authority="redbridge", child_ref="c2", event=first)
    for event in (
        *rest,
        CinMeetingHeld(on=d("2025-02-24")),
        ReviewHeld(on=d("2025-04-07"), outcome="escalate"),
        S47Started(on=d("2025-04-08")),
        IcpcHeld(on=d("2025-04-25"), outcome="no_plan"),
    ):
        record(engine, policies=book, case_ref=opened.case_ref, event=event)

    def rows() -> list[tuple[str, str]]:
        with Session(engine) as session:
            found = session.exec(select(Drift).where(Drift.kind == VISITS_UNSET_KIND))
            return [(r.key, r.status) for r in found]

    assert rows() == [("visits#2025-02-24", "open")]
    for event in (
        ReviewHeld(on=d("2025-05-19"), outcome="escalate"),
        S47Started(on=d("2025-05-20")),
        IcpcHeld(on=d("2025-06-06"), outcome="cp_plan"),
    ):
        record(engine, policies=book, case_ref=opened.case_ref, event=event)
    assert rows() == [("visits#2025-02-24", "resolved")]
