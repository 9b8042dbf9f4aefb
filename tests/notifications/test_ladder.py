"""The monitor's decision for one item, day by day, under real policies (pure: no database)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, timedelta

import pytest

from models.alerts.store import DueItem
from models.policy.book import PolicyBook
from models.policy.parts import Role
from notifications import messages
from notifications.ladder import decide


def d(text: str) -> date:
    return date.fromisoformat(text)


def item(due: str, **changes: object) -> DueItem:
    base = DueItem(
        source="deadline",
        row_id=uuid.uuid4(),
        case_ref="RED-000001",
        authority="redbridge",
        team="cin-east",
        worker_id="W1",
        flow_run_id=None,
        key="review#2",
        kind="review",
        due=d(due),
        status="open",
        escalation_level=0,
        reminder_level=0,
        policy_ref="redbridge v1",
        explanation="6 months from previous review on 2025-01-06 under redbridge v1",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def walk(book: PolicyBook, start: DueItem, first: str, last: str) -> list[tuple[str, str, int]]:
    """Run `decide` every day, applying its marks as the monitor would: (day, notice, level)."""
    policy = book.authority(start.authority).on(d(first))
    told: list[tuple[str, str, int]] = []
    current, day = start, d(first)
    while day <= d(last):
        decision = decide(current, policy, day, 2)
        if decision is not None:
            told += [(day.isoformat(), n.notice, n.level) for n in decision.notices]
            current = replace(
                current,
                escalation_level=decision.escalation_level,
                reminder_level=decision.reminder_level,
                status="missed" if decision.mark_missed else current.status,
            )
        day += timedelta(days=1)
    return told


def test_redbridge_review_due_on_a_friday_before_the_may_bank_holiday(book: PolicyBook) -> None:
    # due Fri 2 May 2025; Mon 5 May is the Early May bank holiday
    told = walk(book, item("2025-05-02"), "2025-04-25", "2025-05-30")
    assert told == [
        ("2025-04-30", "due_soon", 0),  # Wed: two working days before (Thu, Fri)
        ("2025-05-02", "due_today", 0),
        ("2025-05-06", "overdue", 1),  # Tue: the first working day after the due date
        ("2025-05-12", "overdue", 2),  # 5th working day overdue: Tue, Wed, Thu, Fri, Mon
        ("2025-05-19", "overdue", 3),  # 10th working day overdue
    ]


def test_nothing_is_raised_on_a_non_working_day(book: PolicyBook) -> None:
    policy = book.authority("redbridge").on(d("2025-05-03"))
    assert decide(item("2025-05-02"), policy, d("2025-05-03"), 2) is None  # Saturday
    assert decide(item("2025-05-02"), policy, d("2025-05-05"), 2) is None  # bank holiday


def test_a_monitor_that_missed_days_tells_every_rung_reached_once(book: PolicyBook) -> None:
    policy = book.authority("redbridge").on(d("2025-06-02"))
    decision = decide(item("2025-05-02"), policy, d("2025-06-02"), 2)
    assert decision is not None
    assert [(n.level, n.role) for n in decision.notices] == [
        (1, Role.TEAM_MANAGER),
        (2, Role.SERVICE_MANAGER),
        (3, Role.HEAD_OF_SERVICE),
    ]
    assert decision.mark_missed and decision.escalation_level == 3
    again = decide(
        replace(item("2025-05-02"), escalation_level=3, status="missed"),
        policy,
        d("2025-06-03"),
        2,
    )
    assert again is None


def test_drift_climbs_from_the_day_it_began(book: PolicyBook) -> None:
    drift = item("2025-07-07", source="drift", key="continues#3", kind="plan_unchanged")
    told = walk(book, drift, "2025-07-07", "2025-07-31")
    assert told == [
        ("2025-07-08", "drift", 1),
        ("2025-07-14", "drift", 2),
        ("2025-07-21", "drift", 3),
    ]


def test_messages_carry_no_child_data_and_name_rule_and_link(book: PolicyBook) -> None:
    policy = book.authority("redbridge").on(d("2025-05-06"))
    decision = decide(item("2025-05-02"), policy, d("2025-05-06"), 2)
    assert decision is not None
    notice = decision.notices[0]
    body = messages.body(decision.item, notice, policy, "http://ui.example", "abc123")
    assert "RED-000001" in body and "overdue since 2025-05-03" in body
    # the rule in plain English, whose rule it is, its citation last with the document named
    assert (
        "Rule: the CIN plan review within 6 months of the previous review, London Borough of "
        "Redbridge's policy (version 1). Source: Redbridge's Children in Need procedures "
        "(2018), section 5" in body
    )
    assert "003" not in body and "engine default" not in body
    assert "Why you: You are told as the team manager: 1 working day overdue (rung 1 of 3)" in body
    assert "Open the case: http://ui.example/artifacts/key/case-abc123-red-000001" in body
    subject = messages.subject(decision.item, notice, urgent=False)
    assert subject == (
        "[CIN] RED-000001: CIN plan review overdue since 2025-05-03 (1 working day; due 2025-05-02)"
    )


@pytest.mark.parametrize("slug", ["stockton-on-tees", "redbridge", "warwickshire"])
def test_every_policy_ladder_starts_with_the_team_manager(book: PolicyBook, slug: str) -> None:
    from notifications.ladder import ladder

    rungs = ladder(book.authority(slug).on(d("2025-06-02")))
    assert rungs[0].role is Role.TEAM_MANAGER


def test_a_review_chair_finding_goes_to_the_team_manager_only(book: PolicyBook) -> None:
    """Issue 8 point 3, 003 L131: the first review after 12 months chaired by someone else is a
    finding for the team manager; it never climbs to the service manager or head of service."""
    finding = item(
        "2026-03-02", source="drift", key="chair#3", kind="review_chair", explanation="..."
    )
    told = walk(book, finding, "2026-03-02", "2026-04-30")
    assert told == [("2026-03-03", "drift", 1)]  # the first working day after, rung 1 only
    unchanged = item("2026-03-02", source="drift", key="continues#5", kind="plan_unchanged")
    assert [level for _, _, level in walk(book, unchanged, "2026-03-02", "2026-04-30")] == [1, 2, 3]
