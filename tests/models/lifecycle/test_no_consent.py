"""Issue 19 point 4e: a family that refuses consent leaves the case with a next step.

002 L136: "Parents must consent to receive a children in need service": without consent there is
no plan, but the case is still open. No document says what is owed next or when, so the engine
default `no_consent_decision` (engine-defaults.yaml, labelled with its reason) gives the council
10 working days to close the case, step down or decide again (a strategy discussion). Under the
REAL policies; dates counted by hand (England; no bank holiday in the days counted).
"""

from __future__ import annotations

from datetime import date

import pytest

from models.lifecycle import (
    AssessmentCompleted,
    CaseClosed,
    Event,
    IcpcHeld,
    ReferralDecision,
    ReferralReceived,
    S47Started,
    StrategyDiscussionHeld,
    TransferOut,
    apply,
    rebuild,
)
from models.policy.book import PolicyBook
from tests.models.lifecycle.helpers import changes_of


def d(text: str) -> date:
    return date.fromisoformat(text)


# referral Mon 6 Jan 2025; the assessment agrees a plan on Mon 10 Feb, the family says no
REFUSED: list[Event] = [
    ReferralReceived(on=d("2025-01-06"), source="2A"),
    ReferralDecision(on=d("2025-01-07"), outcome="assessment"),
    AssessmentCompleted(on=d("2025-02-10"), outcome="cin_plan", consent=False),
]


@pytest.mark.parametrize(
    "slug", ["redbridge", "warwickshire", "stockton-on-tees", "redcar-and-cleveland"]
)
def test_the_next_step_is_owed_in_10_working_days_labelled_an_engine_default(
    book: PolicyBook, slug: str
) -> None:
    policy = book.authority(slug)
    state = rebuild(REFUSED[:-1], policy)
    refused = apply(state, REFUSED[-1], policy)
    opened = next(c for c in refused.changes if c.key == "no_consent_decision")
    # Mon 10 Feb + 10 WD: 11-14 Feb (4), 17-21 Feb (9), Mon 24 Feb (10)
    assert (opened.action.value, opened.due) == ("open", d("2025-02-24"))
    assert opened.source is not None and opened.source.startswith("engine default:")
    assert "002 L136" in opened.source
    assert "from consent refused or withdrawn on 2025-02-10" in (opened.explanation or "")


@pytest.mark.parametrize(
    "event",
    [
        CaseClosed(on=d("2025-02-20"), reason="RC8"),
        TransferOut(on=d("2025-02-20")),
        S47Started(on=d("2025-02-20")),
        StrategyDiscussionHeld(on=d("2025-02-20"), outcome="s47"),
    ],
)
def test_closing_moving_away_or_a_strategy_discussion_meets_it(
    book: PolicyBook, event: Event
) -> None:
    policy = book.authority("redbridge")
    transition = apply(rebuild(REFUSED, policy), event, policy)
    assert ("met", "no_consent_decision", "2025-02-24") in changes_of(transition)


def test_a_strategy_discussion_deciding_no_s47_leaves_it_owed(book: PolicyBook) -> None:
    policy = book.authority("redbridge")
    no_s47 = StrategyDiscussionHeld(on=d("2025-02-20"), outcome="no_s47")
    transition = apply(rebuild(REFUSED, policy), no_s47, policy)
    assert [o.key for o in transition.state.deadlines] == ["no_consent_decision"]


def test_an_icpc_without_a_plan_returns_to_no_consent_with_a_new_next_step(
    book: PolicyBook,
) -> None:
    """s47 enquiries from no consent (Thu 20 Feb), ICPC Fri 7 Mar with no plan: back to no
    consent, the next step owed 10 WD from the ICPC: Fri 21 Mar."""
    policy = book.authority("redbridge")
    events = [*REFUSED, S47Started(on=d("2025-02-20"))]
    back = apply(rebuild(events, policy), IcpcHeld(on=d("2025-03-07"), outcome="no_plan"), policy)
    assert back.state.stage.value == "no_consent"
    assert ("open", "no_consent_decision#2", "2025-03-21") in changes_of(back)
