"""Issue 19 point 7: one council's rules are that council's, under the REAL policy files.

- Redbridge 003 L146: "A CiN Plan should not be ended unless a review has been completed and a
  decision made that the Plan has achieved its objectives/is no longer required". Redbridge's
  rule (`rules: plan_ends_at_review`); Warwickshire's (002), Stockton's (001) and Redcar's (000)
  documents set none, so there `case_closed` RC7 ends a CIN plan.
- Redbridge 003 L17: "This chapter was updated in August 2018 by adding a new Section 7": only s7
  dates from August 2018. The rest applies to history before it (assumed from 15 April 2013, an
  engine default, labelled); s7's 20 WD transfer-in meeting is the engine default's before then.

Dates counted by hand on England's calendar (no bank holiday in the weeks counted).
"""

from __future__ import annotations

from datetime import date

import pytest

from cli.policy_cmd import policy_as_json
from models.lifecycle import (
    AssessmentCompleted,
    CaseClosed,
    CinMeetingHeld,
    Event,
    EventRefused,
    ReferralDecision,
    ReferralReceived,
    TransferIn,
    apply,
    rebuild,
)
from models.lifecycle.transition import Transition
from models.policy.book import PolicyBook


def d(text: str) -> date:
    return date.fromisoformat(text)


IN_PLAN: list[Event] = [
    ReferralReceived(on=d("2025-01-06"), source="2A"),
    ReferralDecision(on=d("2025-01-07"), outcome="assessment"),
    AssessmentCompleted(on=d("2025-02-10"), outcome="cin_plan"),
    CinMeetingHeld(on=d("2025-02-24")),
]
CLOSE_RC7 = CaseClosed(on=d("2025-03-03"), reason="RC7")


def step(book: PolicyBook, slug: str, events: list[Event], event: Event) -> Transition:
    policy = book.authority(slug)
    return apply(rebuild(events, policy), event, policy)


def test_redbridge_refuses_rc7_closure_of_a_plan_citing_its_own_document(book: PolicyBook) -> None:
    with pytest.raises(EventRefused, match="003 L146") as refused:
        step(book, "redbridge", IN_PLAN, CLOSE_RC7)
    assert "a CIN plan is in force" in str(refused.value)


@pytest.mark.parametrize("slug", ["warwickshire", "stockton-on-tees", "redcar-and-cleveland"])
def test_other_councils_close_a_cin_plan_with_rc7(book: PolicyBook, slug: str) -> None:
    closed = step(book, slug, IN_PLAN, CLOSE_RC7)
    assert closed.state.closure_reason == "RC7"
    assert closed.state.closed_on == d("2025-03-03")


def test_only_redbridge_lists_its_rules_in_policy_show(book: PolicyBook) -> None:
    rules = {
        slug: policy_as_json(book.authority(slug).on(d("2025-03-03")), d("2025-03-03"))["rules"]
        for slug in book.slugs()
    }
    assert rules["redbridge"] == {
        "plan_ends_at_review": (
            "003 L146: a CiN Plan should not be ended unless a review has been completed and a "
            "decision made that the Plan has achieved its objectives/is no longer required"
        ),
        "plan_should_set_visits": (
            "003 L202: the visiting frequency should form part of the overall CiN Plan and should "
            "be set out in any planning or review meeting"
        ),
    }
    assert {slug: r for slug, r in rules.items() if slug != "redbridge"} == {
        "redcar-and-cleveland": {},
        "stockton-on-tees": {},
        "warwickshire": {},
    }


def test_redbridge_history_before_august_2018_is_accepted(book: PolicyBook) -> None:
    """A referral on Mon 6 Mar 2017: the decision is due the next working day, Tue 7 Mar, and the
    explanation says the rules are assumed before the document's date."""
    referred = step(book, "redbridge", [], ReferralReceived(on=d("2017-03-06"), source="2A"))
    (opened,) = referred.changes
    assert (opened.key, opened.due) == ("referral_decision", d("2017-03-07"))
    assert opened.explanation is not None and "assumed" in opened.explanation


def test_redbridge_s7_meeting_is_its_own_only_from_august_2018(book: PolicyBook) -> None:
    """003 L17: s7 was added in August 2018. Resident Mon 2 Jul 2018: 20 WD is Mon 30 Jul (3-6 Jul
    4, 9-13 9, 16-20 14, 23-27 19, 30 Jul 20), the engine default's. Resident Mon 3 Sep 2018: Mon 1
    Oct (4-7 Sep 4, 10-14 9, 17-21 14, 24-28 19, 1 Oct 20), Redbridge's own 003 s7."""
    before = step(book, "redbridge", [], TransferIn(on=d("2018-07-02")))
    after = step(book, "redbridge", [], TransferIn(on=d("2018-09-03")))
    (early,), (late,) = before.changes, after.changes
    assert (early.key, early.due) == ("transfer_in_meeting", d("2018-07-30"))
    assert early.source is not None and early.source.startswith("engine default:")
    assert (late.key, late.due) == ("transfer_in_meeting", d("2018-10-01"))
    assert late.source is not None and late.source.startswith("local: 003 s7")
