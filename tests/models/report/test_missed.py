"""Issue 19 point 5: a missed deadline stays missed. Plan copies never sent are not "cancelled"
when the next meeting is held: their row closes `unmet`, and the council's figures count them as
missed in the period (and overdue on any day between their due date and that meeting). On SQLite
and on PostgreSQL.

Redbridge 003 L122: "copies of the Plan within 10 working days of the meeting" (each meeting of
the planning and review group, reviews included); 003 s5: the first review 6 weeks from the plan
start. Dates counted by hand on the England and Wales calendar (no bank holiday in them).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine
from sqlmodel import Session, select

from models.cases.store import open_case, record
from models.lifecycle import (
    AssessmentCompleted,
    CinMeetingHeld,
    PlanDistributed,
    ReferralDecision,
    ReferralReceived,
    ReviewHeld,
)
from models.policy.book import PolicyBook
from models.report import authority_report
from models.tables import Deadline

START, END = date(2024, 4, 1), date(2025, 3, 31)


def _record_history(engine: Engine, book: PolicyBook) -> str:
    opened = open_case(
        engine,
        policies=book,
        authority="redbridge",
        child_ref="child1",
        event=ReferralReceived(on=date(2024, 9, 2), source="2A"),  # Mon 2 Sep
    )
    for event in (
        ReferralDecision(on=date(2024, 9, 3), outcome="assessment"),
        AssessmentCompleted(on=date(2024, 9, 16), outcome="cin_plan"),
        # the CIN meeting Mon 23 Sep: copies due 10 WD later, Mon 7 Oct; never sent
        CinMeetingHeld(on=date(2024, 9, 23)),
        # the first review (due Mon 4 Nov, 6 weeks) on Mon 28 Oct: a new meeting, new copies
        # due Mon 11 Nov, sent Fri 8 Nov
        ReviewHeld(on=date(2024, 10, 28), outcome="continue"),
        PlanDistributed(on=date(2024, 11, 8)),
    ):
        record(engine, policies=book, case_ref=opened.case_ref, event=event)
    return opened.case_ref


def test_copies_never_sent_stay_missed_after_the_next_meeting(
    engine: Engine, book: PolicyBook
) -> None:
    _record_history(engine, book)
    with Session(engine) as session:
        rows = {row.key: row for row in session.exec(select(Deadline))}
    first, second = rows["plan_distributed"], rows["plan_distributed#2"]
    assert (first.due, first.status, first.met_on) == (date(2024, 10, 7), "unmet", None)
    assert (second.due, second.status) == (date(2024, 11, 11), "met")

    year = authority_report(engine, book, "redbridge", START, END)
    # the only deadline of the year not met by its due date: the first meeting's copies
    assert year["missed_deadlines_by_kind"] == {"plan_distributed": 1}
    assert year["missed_deadlines_total"] == 1
    # on 31 March nothing is owed any more: the copies are no longer overdue, but missed
    assert year["overdue_deadlines_by_kind"] == {}

    # on Tue 15 Oct, between the due date and the review, they are overdue and missed
    october = authority_report(engine, book, "redbridge", START, date(2024, 10, 15))
    assert october["overdue_deadlines_by_kind"] == {"plan_distributed": 1}
    assert october["missed_deadlines_by_kind"] == {"plan_distributed": 1}
    # on Mon 7 Oct, their due date, they were not yet missed
    due_day = authority_report(engine, book, "redbridge", START, date(2024, 10, 7))
    assert due_day["missed_deadlines_by_kind"] == {}
