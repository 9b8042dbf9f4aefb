"""A year in simulated time: a Redbridge case and a Stockton case live through their plans while the
monitor runs every morning; every alert must arrive on the right working day and escalate on the
right one, to the right person, once.

The expectation is computed independently of the engine's calendar and ladder code: a day-by-day
walk over the deadline and drift rows the year produced, with working days from the `holidays`
package directly and the rungs read from the policy file. The engine's own alerts must equal it.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from functools import cache

import holidays
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from demo.local_smtp import LocalSmtpServer
from demo.teams_receiver import TeamsReceiver
from models.cases.store import open_case, record
from models.lifecycle import (
    AssessmentCompleted,
    CinMeetingHeld,
    Event,
    FinalMeetingHeld,
    PlanDistributed,
    ReferralDecision,
    ReferralReceived,
    ReviewHeld,
    StepDownPanel,
    VisitRecorded,
)
from models.policy.book import PolicyBook
from models.staff.roster import parse_staff_csv
from models.staff.store import allocate, import_staff
from models.tables import Alert, Case, CaseEvent, Deadline, Dispatch, Drift
from notifications.monitor import MonitorConfig, run_pass


def d(text: str) -> date:
    return date.fromisoformat(text)


CHILD = "CHILDREF7731"  # must never appear in a message
STAFF_NAMES = ("Alex Worker", "Sam Teamlead", "Jo Servicemgr", "Kim Headofservice")


def staff_csv(team: str, domain: str) -> str:
    return (
        "staff_id,name,email,role,team,manager_id\n"
        f"HS1,Kim Headofservice,hos@{domain},head_of_service,,\n"
        f"SM1,Jo Servicemgr,sm1@{domain},service_manager,,HS1\n"
        f"TM1,Sam Teamlead,tm1@{domain},team_manager,{team},SM1\n"
        f"W1,Alex Worker,w1@{domain},worker,{team},TM1\n"
    )


EMAILS = {"W1": "w1", "TM1": "tm1", "SM1": "sm1", "HS1": "hos"}
ROLE_STAFF = {"worker": "W1", "team_manager": "TM1", "service_manager": "SM1"}
ROLE_STAFF["head_of_service"] = "HS1"

FOUR_WEEKS = {"amount": 4, "unit": "weeks"}

REDBRIDGE: list[Event] = [
    ReferralReceived(on=d("2025-01-06"), source="2A"),
    ReferralDecision(on=d("2025-01-08"), outcome="assessment"),  # due 01-07: urgent, late
    AssessmentCompleted(on=d("2025-02-10"), outcome="cin_plan"),
    CinMeetingHeld(on=d("2025-03-05"), visit_frequency=FOUR_WEEKS),  # due 03-03: late
    PlanDistributed(on=d("2025-03-12")),
    VisitRecorded(on=d("2025-04-14")),  # due 04-02: 8 working days late
    ReviewHeld(on=d("2025-04-16"), outcome="continue"),
    VisitRecorded(on=d("2025-05-12")),
    ReviewHeld(on=d("2025-05-20"), outcome="continue"),
    VisitRecorded(on=d("2025-06-09")),
    ReviewHeld(on=d("2025-06-24"), outcome="continue"),  # three in a row: drift
    VisitRecorded(on=d("2025-07-07")),
    ReviewHeld(on=d("2025-07-15"), outcome="change"),  # the drift ends
    VisitRecorded(on=d("2025-08-04")),
    VisitRecorded(on=d("2025-09-15")),  # due 09-01: every rung told
    ReviewHeld(on=d("2025-10-06"), outcome="step_down_panel"),
    VisitRecorded(on=d("2025-10-13")),
    StepDownPanel(on=d("2025-10-27"), outcome="accepted"),  # 10 WD due 10-20: late
    FinalMeetingHeld(on=d("2025-11-05")),
]

STOCKTON: list[Event] = [
    ReferralReceived(on=d("2025-02-03"), source="3A"),
    ReferralDecision(on=d("2025-02-04"), outcome="assessment"),
    AssessmentCompleted(on=d("2025-03-28"), outcome="cin_plan"),
    # the plan sets 4-weekly visits (no council has a visit default: 003 L202)
    CinMeetingHeld(on=d("2025-04-14"), visit_frequency=FOUR_WEEKS),
    PlanDistributed(on=d("2025-04-30")),
    VisitRecorded(on=d("2025-05-09")),
    ReviewHeld(on=d("2025-05-26"), outcome="continue"),  # Spring bank holiday: held anyway
    VisitRecorded(on=d("2025-06-06")),
    ReviewHeld(on=d("2025-07-14"), outcome="change"),  # 6-weekly: due 07-07, late
    VisitRecorded(on=d("2025-07-04")),
    VisitRecorded(on=d("2025-08-29")),  # due 08-01: long overdue (August bank holiday inside)
    ReviewHeld(on=d("2025-08-22"), outcome="change"),
    ReviewHeld(on=d("2025-10-03"), outcome="change"),
    VisitRecorded(on=d("2025-09-26")),
    ReviewHeld(on=d("2025-11-14"), outcome="change"),
    VisitRecorded(on=d("2025-10-24")),
    VisitRecorded(on=d("2025-11-21")),
    VisitRecorded(on=d("2025-12-19")),
    ReviewHeld(on=d("2026-01-05"), outcome="change"),  # due 12-26 (Boxing Day): late
    VisitRecorded(on=d("2026-01-16")),
    ReviewHeld(on=d("2026-02-16"), outcome="continue"),
    VisitRecorded(on=d("2026-02-13")),
    VisitRecorded(on=d("2026-03-13")),
    ReviewHeld(on=d("2026-03-27"), outcome="continue"),
    VisitRecorded(on=d("2026-04-10")),
    ReviewHeld(on=d("2026-05-01"), outcome="continue", chair="team_manager"),
]


@cache
def england(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year))


def working(day: date) -> bool:
    return day.weekday() < 5 and day not in england(day.year)


def count_working(after: date, upto: date) -> int:
    """Working days in (after, upto], walked day by day."""
    n, day = 0, after + timedelta(days=1)
    while day <= upto:
        n += working(day)
        day += timedelta(days=1)
    return n


def expected_alerts(
    engine: Engine, book: PolicyBook, authority: str, first: date, last: date
) -> set[tuple[str, str, int, date]]:
    """(row key, notice, level, day) from the rows, by walking every morning of the period."""
    rungs = sorted(
        s.after_working_days_overdue for s in book.authority(authority).on(first).escalation
    )
    with Session(engine) as session:
        case = session.exec(select(Case).where(Case.authority == authority)).one()
        on = {e.seq: e.occurred_on for e in session.exec(select(CaseEvent))}
        rows = [
            ("deadline", r.key, r.due, on[r.opened_seq], on.get(r.closed_seq or -1))
            for r in session.exec(select(Deadline).where(Deadline.case_id == case.id))
        ] + [
            ("drift", r.key, r.since, on[r.opened_seq], on.get(r.closed_seq or -1))
            for r in session.exec(select(Drift).where(Drift.case_id == case.id))
        ]
    out: set[tuple[str, str, int, date]] = set()
    for source, key, due, opened, closed in rows:
        told: set[tuple[str, int]] = set()
        day = opened + timedelta(days=1)  # events are recorded after the morning's pass
        while day <= last and (closed is None or day <= closed):
            if working(day):
                if source == "drift":
                    notices = [("drift", count_working(due, day))]
                elif day < due and count_working(day, due) <= 2:
                    notices = [("due_soon", 0)]
                elif day == due:
                    notices = [("due_today", 0)]
                elif day > due:
                    notices = [("overdue", count_working(due, day))]
                else:
                    notices = []
                for notice, days in notices:
                    if notice in ("due_soon", "due_today"):
                        if (notice, 0) not in told and ("due_today", 0) not in told:
                            told.add((notice, 0))
                            out.add((key, notice, 0, day))
                        continue
                    for level, after in enumerate(rungs, start=1):
                        if days >= max(1, after) and (notice, level) not in told:
                            told.add((notice, level))
                            out.add((key, notice, level, day))
            day += timedelta(days=1)
    return out


def live_a_year(
    engine: Engine,
    book: PolicyBook,
    authority: str,
    team: str,
    story: Sequence[Event],
    last: date,
    config: MonitorConfig,
) -> str:
    domain = f"{authority}.example"
    import_staff(engine, authority=authority, rows=parse_staff_csv(staff_csv(team, domain)))
    by_day: dict[date, list[Event]] = defaultdict(list)
    for event in story:
        by_day[event.on].append(event)
    case_ref = ""
    day = story[0].on
    while day <= last:
        run_pass(engine, book, as_of=day, now=datetime.now(UTC), config=config)
        for event in by_day.pop(day, []):
            if not case_ref:
                opened = open_case(
                    engine, policies=book, authority=authority, child_ref=CHILD, event=event,
                    team=team,
                )  # fmt: skip
                case_ref = opened.case_ref
                allocate(engine, case_ref=case_ref, worker_id="W1")
            else:
                record(engine, policies=book, case_ref=case_ref, event=event)
        day += timedelta(days=1)
    assert not by_day, "every event of the story was played"
    return case_ref


@pytest.mark.parametrize(
    ("authority", "team", "story", "last"),
    [
        ("redbridge", "cin-east", REDBRIDGE, d("2025-12-31")),
        ("stockton-on-tees", "north", STOCKTON, d("2026-05-29")),
    ],
    ids=["redbridge", "stockton"],
)
def test_a_year_of_alerts_arrives_on_the_right_working_days(
    engine: Engine,
    book: PolicyBook,
    smtp_server: LocalSmtpServer,
    teams_receiver: TeamsReceiver,
    authority: str,
    team: str,
    story: list[Event],
    last: date,
) -> None:
    config = MonitorConfig(
        ui_url="http://prefect.example",
        smtp_url=smtp_server.url(),
        environ={
            "CIN_TEAMS_URLS": json.dumps({f"{authority}/{team}": teams_receiver.apprise_url(team)})
        },
    )
    case_ref = live_a_year(engine, book, authority, team, story, last, config)

    with Session(engine) as session:
        alerts = list(session.exec(select(Alert)))
        dispatches = {x.id: x for x in session.exec(select(Dispatch))}
    got = {(a.finding.split("/", 1)[1].removeprefix("drift/"), a.notice, a.level, a.raised_on)
           for a in alerts}  # fmt: skip
    want = expected_alerts(engine, book, authority, story[0].on, last)
    assert got == want

    # each rung went to the right person on the right channel, once
    for alert in alerts:
        expected = {("email", f"staff:{ROLE_STAFF[alert.role]}")}
        if alert.role == "team_manager":
            expected.add(("teams", f"team:{team}"))
        assert (alert.channel, alert.recipient) in expected
    per_rung = Counter((a.finding, a.notice, a.level, a.channel) for a in alerts)
    assert set(per_rung.values()) == {1}
    assert {a.channel for a in alerts if a.role == "team_manager"} == {"email", "teams"}

    # everything raised was carried by exactly one message, sent the day it was raised
    assert all(a.dispatch_id is not None for a in alerts)
    assert all(x.sent_at is not None and x.attempts == 1 for x in dispatches.values())
    urgent = [a for a in alerts if a.kind in ("referral_decision", "icpc")]
    assert all(dispatches[a.dispatch_id].key.startswith("alert:") for a in urgent)  # type: ignore[index]
    email = [x for x in dispatches.values() if x.channel == "email"]
    assert len(smtp_server.messages) == len(email)
    received = Counter((m.envelope_to, m.subject) for m in smtp_server.messages)
    for dispatch in email:
        staff_id = dispatch.recipient.removeprefix("staff:")
        address = f"{EMAILS[staff_id]}@{authority}.example"
        assert received[((address,), dispatch.subject)] >= 1
    teams = [x for x in dispatches.values() if x.channel == "teams"]
    assert len(teams_receiver.requests) == len(teams) > 0

    # case reference in; no child reference or staff name in any message
    texts = [m.subject + "\n" + m.body for m in smtp_server.messages]
    texts += [str(r.body) for r in teams_receiver.requests]
    assert any(case_ref in t for t in texts)
    for text in texts:
        assert CHILD not in text
        assert not any(name in text for name in STAFF_NAMES)


def test_the_redbridge_year_has_the_hand_counted_dates(
    engine: Engine, book: PolicyBook, smtp_server: LocalSmtpServer
) -> None:
    """A few days counted by hand, so the walk above cannot agree with a shared mistake."""
    config = MonitorConfig(ui_url="http://prefect.example", smtp_url=smtp_server.url(), environ={})
    live_a_year(engine, book, "redbridge", "cin-east", REDBRIDGE, d("2025-12-31"), config)
    with Session(engine) as session:
        alerts = list(session.exec(select(Alert).order_by(col(Alert.raised_on))))
    told = {(a.finding.split("/", 1)[1], a.notice, a.level): a.raised_on for a in alerts}
    # referral decision due Tue 7 Jan, made Wed 8 Jan: the team manager is told that morning,
    # at once (urgent), not in a digest
    assert told[("referral_decision", "overdue", 1)] == d("2025-01-08")
    # three "continue" reviews ending 24 June: TM Wed 25 June, SM 1 July (5th working day),
    # head of service 8 July (10th); the review of 15 July ends it
    assert told[("drift/continues#3", "drift", 1)] == d("2025-06-25")
    assert told[("drift/continues#3", "drift", 2)] == d("2025-07-01")
    assert told[("drift/continues#3", "drift", 3)] == d("2025-07-08")
    # the visit due Mon 1 Sept (4 weeks after 4 Aug), made 15 Sept: every rung
    visit = next(k for k, v in told.items() if k[1:] == ("overdue", 3) and k[0].startswith("visit"))
    assert told[visit] == d("2025-09-15")
    assert told[(visit[0], "overdue", 1)] == d("2025-09-02")
    assert told[(visit[0], "overdue", 2)] == d("2025-09-08")
    # the step-down panel asked on Mon 6 Oct, due in 10 working days (Mon 20 Oct), met 27 Oct
    assert told[("step_down_panel", "overdue", 1)] == d("2025-10-21")
    assert ("step_down_panel", "overdue", 2) in told and told[
        ("step_down_panel", "overdue", 2)
    ] == d("2025-10-27")
