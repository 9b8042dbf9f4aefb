"""The alert projection walks the monitor's own ladder decisions, day by day (pure, no database)."""

from __future__ import annotations

from datetime import date

from models.policy.book import PolicyBook
from models.whatif.replay import LiveDeadline
from notifications.projection import project

MONDAY = date(2025, 6, 2)


def test_an_overdue_deadline_climbs_the_ladder_in_the_weeks_it_reaches_each_rung(
    book: PolicyBook,
) -> None:
    policy = book.authority("redbridge").on(MONDAY)
    # due the Friday before: team manager at once (week 0), service manager on the 5th working
    # day overdue (Fri 6 Jun, week 0), head of service on the 10th (Fri 13 Jun, week 1)
    late = LiveDeadline("review#2", "review", date(2025, 5, 30))
    projected = project([late], policy, MONDAY, soon=2)
    assert projected.alerts_by_week[:3] == [2, 1, 0]
    assert dict(projected.escalations_by_rung) == {
        "1 team_manager": 1,
        "2 service_manager": 1,
        "3 head_of_service": 1,
    }
    assert projected.reminders == 0


def test_a_deadline_already_told_every_rung_raises_nothing(book: PolicyBook) -> None:
    policy = book.authority("redbridge").on(MONDAY)
    told = LiveDeadline("review#2", "review", date(2025, 5, 1), escalation_level=3)
    assert sum(project([told], policy, MONDAY, soon=2).alerts_by_week) == 0


def test_a_deadline_due_in_week_3_reminds_then_climbs(book: PolicyBook) -> None:
    policy = book.authority("redbridge").on(MONDAY)
    # due Wed 25 Jun: "due soon" Mon 23 Jun (2 working days left), "due today" on the 25th,
    # team manager Thu 26 Jun (all week 3), service manager Wed 2 Jul (week 4), head of
    # service Wed 9 Jul (week 5)
    due = LiveDeadline("visit#3", "visit", date(2025, 6, 25))
    projected = project([due], policy, MONDAY, soon=2)
    assert projected.alerts_by_week[:6] == [0, 0, 0, 3, 1, 1]
    assert projected.reminders == 2
