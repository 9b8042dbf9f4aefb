"""Issue 8, points 10-12, through the real store (SQLite and PostgreSQL): history before a
document's date, one open case per child, idempotency conflicts, and dates (future-dated events
refused, late entries placed in date order). Dates counted by hand on England's calendar.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from models.cases.ledger import rebuild
from models.cases.reads import load_case
from models.cases.store import open_case, record
from models.lifecycle import (
    AssessmentCompleted,
    CinMeetingHeld,
    EventRefused,
    ReferralDecision,
    ReviewHeld,
    S47Concluded,
    S47Started,
    VisitFrequency,
    VisitRecorded,
)
from models.policy.book import PolicyBook
from models.tables import Deadline, Drift
from tests.models.cases.factories import d, deadline_rows, open_referral, play, referral, snapshot

# -- 10. History before a document's date ------------------------------------------------------


def test_10_a_policy_assumed_before_its_document_counts_history_and_says_so(
    engine: Engine, book: PolicyBook
) -> None:
    """001 L57: "Between the period of April 2017 and March 2018 we received a total of 2334 new
    CIN" referrals. Stockton's policy dates from 1 Sep 2018 (001 s6.3) and is assumed to apply
    from 1 Apr 2017, so a past year's referral loads, and its deadline says it was assumed."""
    opened = open_referral(engine, book, authority="stockton-on-tees", on="2017-06-05")  # Monday
    with Session(engine) as session:
        case = load_case(session, opened.case_ref)
        (row,) = session.exec(select(Deadline).where(Deadline.case_id == case.id))
    assert (row.key, row.due.isoformat()) == ("referral_decision", "2017-06-06")  # 1 WD
    assert "assumed: stockton-on-tees v1 dates from 2018-09-01" in row.explanation
    assert "assumed to apply from 2017-04-01" in row.explanation
    # a day before the assumption, nothing is guessed
    with pytest.raises(
        EventRefused,
        match=r"no policy version in force on 2017-03-31 \(v1 "
        r"2017-04-01 \(assumed; document 2018-09-01\)",
    ):
        open_referral(engine, book, authority="stockton-on-tees", child_ref="c2", on="2017-03-31")
    # Redbridge: 003 L17 says August 2018 only added s7, so the rest is assumed from Working
    # Together 2013's start, 15 Apr 2013 (an engine default; issue 19 point 7): 2017 loads
    earlier = open_referral(engine, book, authority="redbridge", child_ref="c3", on="2017-06-05")
    with Session(engine) as session:
        case = load_case(session, earlier.case_ref)
        (row,) = session.exec(select(Deadline).where(Deadline.case_id == case.id))
    assert "assumed to apply from 2013-04-15" in row.explanation
    with pytest.raises(EventRefused, match="no policy version in force on 2013-04-12"):
        open_referral(engine, book, authority="redbridge", child_ref="c4", on="2013-04-12")


# -- 11. One child, one open case ------------------------------------------------------------------


def test_11_a_referral_for_a_child_with_an_open_case_names_that_case(
    engine: Engine, book: PolicyBook
) -> None:
    """002 L112: re-referrals are counted when a child is referred again after a case ends; a
    referral while the case is open belongs on that case, not on a second one."""
    first = open_referral(engine, book, child_ref="child1", on="2025-01-06")
    before = snapshot(engine, first.case_ref)
    with pytest.raises(EventRefused) as refused:
        open_referral(engine, book, child_ref="child1", on="2025-02-03", key="other")
    assert "already has an open case, RED-000001" in str(refused.value)
    assert "child1" not in str(refused.value)  # no child's reference in an error
    assert snapshot(engine, first.case_ref) == before
    # another authority is another case
    assert open_referral(engine, book, authority="warwickshire", child_ref="child1").case_ref


def test_11_the_same_key_with_another_event_is_refused_naming_the_first(
    engine: Engine, book: PolicyBook
) -> None:
    case_ref = play(engine, book, "redbridge", [referral("2025-01-06")])
    decision = ReferralDecision(on=d("2025-01-07"), outcome="assessment")
    record(engine, policies=book, case_ref=case_ref, event=decision, key="ics-9")
    before = snapshot(engine, case_ref)
    other = VisitRecorded(on=d("2025-01-08"))
    with pytest.raises(
        EventRefused,
        match=r"'ics-9' was already used by event 2 "
        r"\(referral_decision on 2025-01-07\)",
    ):
        record(engine, policies=book, case_ref=case_ref, event=other, key="ics-9")
    assert snapshot(engine, case_ref) == before
    again = record(engine, policies=book, case_ref=case_ref, event=decision, key="ics-9")
    assert again.duplicate


# -- 12. Dates ----------------------------------------------------------------------------------


def test_12_an_event_dated_after_today_is_refused(engine: Engine, book: PolicyBook) -> None:
    """003 L181: "All actions, decisions and arrangements should be fully recorded": what has
    happened, so never a date after today."""
    with pytest.raises(EventRefused, match="on: expected a date on or before today"):
        open_case(
            engine,
            policies=book,
            authority="redbridge",
            child_ref="c",
            event=referral("2025-01-07"),
            today=d("2025-01-06"),
        )
    case_ref = play(engine, book, "redbridge", [referral("2025-01-06")])
    before = snapshot(engine, case_ref)
    tomorrow = ReferralDecision(on=d("2025-01-08"), outcome="assessment")
    with pytest.raises(EventRefused, match=r"expected a date on or before today \(2025-01-07\)"):
        record(engine, policies=book, case_ref=case_ref, event=tomorrow, today=d("2025-01-07"))
    assert snapshot(engine, case_ref) == before


IN_PLAN = [
    referral("2025-01-06"),
    ReferralDecision(on=d("2025-01-07"), outcome="assessment"),
    AssessmentCompleted(on=d("2025-02-10"), outcome="cin_plan"),
    CinMeetingHeld(on=d("2025-02-24"), visit_frequency=VisitFrequency(amount=4, unit="weeks")),
    VisitRecorded(on=d("2025-03-20")),
    ReviewHeld(on=d("2025-04-07"), outcome="continue"),
]


def test_12_a_late_entry_is_placed_in_date_order_and_the_case_re_derived(
    engine: Engine, book: PolicyBook
) -> None:
    """003 L181: everything is recorded on the case record, and in practice often late. A visit
    on Mon 10 Mar, recorded on 8 Apr after the review, counts from 10 Mar, not as the newest."""
    case_ref = play(engine, book, "redbridge", IN_PLAN)
    # before: visit#1 (24 Feb + 28 = 24 Mar) met 20 Mar; visit#2 due 20 Mar + 28 = 17 Apr
    assert ("visit#2", "visit", "2025-04-17", "open", None) in deadline_rows(engine, case_ref)
    late = VisitRecorded(on=d("2025-03-10"))
    record(engine, policies=book, case_ref=case_ref, event=late, today=d("2025-04-08"))
    rows = deadline_rows(engine, case_ref)
    # in date order: 10 Mar meets visit#1 (due 24 Mar); visit#2 counts from 10 Mar (+28 = 7 Apr)
    # and is met by 20 Mar; visit#3 counts from 20 Mar: 17 Apr
    assert [r for r in rows if r[1] == "visit"] == [
        ("visit#1", "visit", "2025-03-24", "met", "2025-03-10"),
        ("visit#2", "visit", "2025-04-07", "met", "2025-03-20"),
        ("visit#3", "visit", "2025-04-17", "open", None),
    ]
    with Session(engine) as session:
        case = load_case(session, case_ref)
        changed = session.exec(
            select(Deadline).where(Deadline.case_id == case.id, Deadline.key == "visit#3")
        ).one()
        review = session.exec(
            select(Deadline).where(Deadline.case_id == case.id, Deadline.key == "review#1")
        ).one()
        assert case.last_seq == len(IN_PLAN) + 1
    assert changed.explanation.endswith("(recorded late on 2025-04-08)")
    assert "recorded late" not in review.explanation  # untouched by the late entry
    report = rebuild(engine, policies=book, case_ref=case_ref)
    assert (report["state_matched"], report["deadlines_matched"]) == (True, True)


def test_12_a_late_entry_that_would_make_the_history_illegal_is_refused(
    engine: Engine, book: PolicyBook
) -> None:
    case_ref = play(engine, book, "redbridge", IN_PLAN)
    before = snapshot(engine, case_ref)
    # a review dated before the CIN meeting: placed in date order there is no plan yet
    early = ReviewHeld(on=d("2025-02-20"), outcome="continue")
    with pytest.raises(EventRefused, match="placed in date order the history would be illegal"):
        record(engine, policies=book, case_ref=case_ref, event=early, today=d("2025-04-08"))
    assert snapshot(engine, case_ref) == before


def test_3_a_chair_finding_reaches_the_team_manager_as_drift(
    engine: Engine, book: PolicyBook
) -> None:
    """003 L131 through the store: the first review after 12 months, not chaired by a TM or SP,
    opens a drift row of kind review_chair (the team manager's finding); the next review closes
    it."""
    events = [
        *IN_PLAN,
        ReviewHeld(on=d("2025-10-06"), outcome="continue"),
        ReviewHeld(on=d("2026-03-02"), outcome="change", chair="other"),  # plan 12 months: 24 Feb
    ]
    case_ref = play(engine, book, "redbridge", events)
    with Session(engine) as session:
        case = load_case(session, case_ref)
        rows = list(session.exec(select(Drift).where(Drift.case_id == case.id)))
        assert [(r.kind, r.since.isoformat(), r.status) for r in rows] == [
            ("review_chair", "2026-03-02", "open")
        ]
        kinds = set(session.exec(select(Deadline.kind).where(Deadline.case_id == case.id)))
    assert "team_manager_review" not in kinds
    record(
        engine,
        policies=book,
        case_ref=case_ref,
        event=ReviewHeld(on=d("2026-04-01"), outcome="change"),
    )
    with Session(engine) as session:
        statuses = list(session.exec(select(Drift.status).where(Drift.case_id == case.id)))
    assert statuses == ["resolved"]


def test_a_finding_that_leaves_and_comes_back_opens_its_row_again(
    engine: Engine, book: PolicyBook
) -> None:
    """The chair finding (003 L131) is shown while the plan is in force: section 47 enquiries
    hide it, and when they end without a conference it is back, under the same key. Its row
    opens again (one row a key per case): the event is accepted, not refused by the database."""
    events = [
        *IN_PLAN,
        ReviewHeld(on=d("2025-10-06"), outcome="continue"),
        ReviewHeld(on=d("2026-03-02"), outcome="change", chair="other"),  # plan 12 months: 24 Feb
    ]
    case_ref = play(engine, book, "redbridge", events)
    for event in (
        S47Started(on=d("2026-03-10")),
        S47Concluded(on=d("2026-03-20"), outcome="icpc_not_required"),
    ):
        record(engine, policies=book, case_ref=case_ref, event=event)
    with Session(engine) as session:
        case = load_case(session, case_ref)
        rows = list(session.exec(select(Drift).where(Drift.case_id == case.id)))
    assert [(r.kind, r.since.isoformat(), r.status) for r in rows] == [
        ("review_chair", "2026-03-02", "open")
    ]
    report = rebuild(engine, policies=book, case_ref=case_ref)
    assert (report["state_matched"], report["deadlines_matched"]) == (True, True)
