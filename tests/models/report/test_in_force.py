"""`cin report`'s episodes and plans open on a date are the census return's and Annex A's (issue 19
point 11: "one derivation of episodes and plans serves the return, the report and Annex A"), on
SQLite and PostgreSQL.

Hand-built Redbridge histories, each crossing the days compared, every count below made by hand:

    STEPDOWN  CP plan 30 Jun 2025, stepped down at the CP review of 12 Jan 2026
              (`cp_review_held --outcome cin_plan`), the CIN plan's meeting 26 Jan 2026
    PENDING   CP plan 14 Jul 2025, stepped down 2 Mar 2026, no CIN meeting by 31 Mar 2026
    CINCLOSED CIN plan 2 Jun 2025, closed at its review of 1 Dec 2025 (RC7)
    WITHDRAWN CIN plan 9 Jun 2025, consent withdrawn 2 Feb 2026 (the episode stays open)
    REREF     NFA after assessment 10 Jun 2025 (closed), referred again 1 Sep 2025, CIN plan
              6 Oct 2025
    LONGCP    CP plan 3 Feb 2025, in force on both reference dates
    AUTHLATE  assessment completed NFA 26 Mar 2026, authorised 1 Apr 2026: the case closes on
              the authorisation (issue 19 point 3), so it is open on 31 Mar 2026

On today's main before this change the report counted STEPDOWN and PENDING as CP plans on 31 Mar
2026 (an ICPC that made a plan, the step-down never read), missed STEPDOWN's CIN plan, counted
WITHDRAWN's plan, and closed AUTHLATE on its completion.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree
from openpyxl import load_workbook
from sqlalchemy import Engine

from models.annex_a.export import export_annex_a
from models.census.export import export_return
from models.census.in_force import in_force_on
from models.census.source import child_logs
from models.census.year import CensusYear
from models.policy.book import PolicyBook
from models.report import authority_report
from tests.models.census.caseload import YEAR_2026, assessed, planned, referred
from tests.models.census.histories import AUTHORITY, Story, child, ev, record_story, upn_for


def _cp(referral: str, icpc: str) -> list[dict[str, object]]:
    return [
        referred(referral),
        *assessed(referral, referral, "escalate", "2B"),
        ev("s47_started", referral),
        ev("icpc_held", icpc, outcome="cp_plan", category="NEG"),
    ]


STORIES = [
    Story("STEPDOWN", child(upn=upn_for(21)), [[
        *planned("2025-04-22", "2025-04-23", "2025-05-21", "2025-06-02"),
        ev("s47_started", "2025-06-16"),
        ev("icpc_held", "2025-06-30", outcome="cp_plan", category="NEG"),
        ev("cp_review_held", "2025-09-29", outcome="continue"),
        ev("cp_review_held", "2026-01-12", outcome="cin_plan"),
        ev("cin_meeting_held", "2026-01-26"),
    ]]),
    Story("PENDING", child(upn=upn_for(22)), [[
        *_cp("2025-06-30", "2025-07-14"),
        ev("cp_review_held", "2025-10-13", outcome="continue"),
        ev("cp_review_held", "2026-03-02", outcome="cin_plan"),
    ]]),
    Story("CINCLOSED", child(upn=upn_for(23)), [[
        *planned("2025-04-14", "2025-04-15", "2025-05-20", "2025-06-02"),
        ev("review_held", "2025-07-14", outcome="continue"),
        ev("review_held", "2025-12-01", outcome="close"),
    ]]),
    Story("WITHDRAWN", child(upn=upn_for(24)), [[
        *planned("2025-04-28", "2025-04-29", "2025-05-27", "2025-06-09"),
        ev("consent_withdrawn", "2026-02-02"),
    ]]),
    Story("REREF", child(upn=upn_for(25)), [
        [referred("2025-05-01"), *assessed("2025-05-02", "2025-06-10", "nfa", "21")],
        planned("2025-09-01", "2025-09-02", "2025-09-29", "2025-10-06"),
    ]),
    Story("LONGCP", child(upn=upn_for(26)), [[
        *_cp("2025-01-13", "2025-02-03"),
        ev("cp_review_held", "2025-05-06", outcome="continue"),
        ev("cp_review_held", "2025-11-04", outcome="continue"),
    ]]),
    Story("AUTHLATE", child(upn=upn_for(27)), [[
        referred("2026-02-02"),
        ev("referral_decision", "2026-02-03", outcome="assessment"),
        ev("assessment_completed", "2026-03-26", outcome="nfa", factors=["21"],
           authorised="2026-04-01"),
    ]]),
]  # fmt: skip

# (day, open episodes, CIN plans, CP plans), counted by hand from the stories
BY_HAND = [
    (date(2025, 3, 31), 1, 0, 1),  # LONGCP
    # STEPDOWN, PENDING, CINCLOSED, WITHDRAWN, REREF (2nd), LONGCP, AUTHLATE open; CIN plans:
    # STEPDOWN (since 26 Jan), REREF, none for WITHDRAWN (withdrawn) or PENDING; CP: LONGCP only
    (date(2026, 3, 31), 6, 2, 1),
    # 20 Jan 2026: STEPDOWN stepped down, its meeting not yet held; PENDING and LONGCP on CP
    # plans; CINCLOSED closed on 1 Dec, AUTHLATE not yet referred
    (date(2026, 1, 20), 5, 2, 2),
    # 12 Jan 2026, the step-down's day: STEPDOWN's CP plan ends that day
    (date(2026, 1, 12), 5, 2, 2),
    # 30 Nov 2025: CINCLOSED's plan still in force, STEPDOWN on its CP plan
    (date(2025, 11, 30), 6, 3, 3),
]


def _census(path: Path) -> tuple[int, int, int]:
    episodes = cin = cp = 0
    for details in etree.parse(str(path)).getroot().iter("CINdetails"):
        # open, as the DfE's rules read it (8815, 8816): no closure date and not a referral
        # with no further action (written without one: issue 19 point 9)
        if details.findtext("CINclosureDate") is not None or details.findtext("ReferralNFA") == "1":
            continue
        episodes += 1
        cin += sum(p.findtext("CINPlanEndDate") is None for p in details.iter("CINPlanDates"))
        cp += sum(p.findtext("CPPendDate") is None for p in details.iter("ChildProtectionPlans"))
    return episodes, cin, cp


def _annex_a(path: Path) -> tuple[int, int]:
    book = load_workbook(path, read_only=True)

    def open_rows(sheet: str, ended: str) -> int:
        rows = list(book[sheet].iter_rows(values_only=True))
        column = rows[0].index(ended)
        return sum(row[column] is None for row in rows[1:])

    return open_rows("List 6", "CIN Closure Date"), open_rows(
        "List 7", "Child Protection Plan End Date"
    )


@pytest.fixture
def recorded(engine: Engine, book: PolicyBook) -> Engine:
    for story in STORIES:
        record_story(engine, book, story)
    return engine


@pytest.mark.parametrize(("day", "episodes", "cin_plans", "cp_plans"), BY_HAND)
def test_report_counts_what_the_return_and_annex_a_count(
    recorded: Engine, book: PolicyBook, tmp_path: Path, day, episodes, cin_plans, cp_plans
) -> None:
    report = authority_report(recorded, book, AUTHORITY, date(day.year - 1, day.month, 1), day)
    on_date = (
        report["open_cases_on_date"],
        report["open_cin_plans_on_date"],
        report["open_cp_plans_on_date"],
    )
    assert on_date == (episodes, cin_plans, cp_plans)

    workbook = tmp_path / "annex-a.xlsx"
    export_annex_a(recorded, policies=book, authority=AUTHORITY, as_of=day, out=workbook)
    assert _annex_a(workbook) == (episodes, cp_plans)

    if (day.month, day.day) == (3, 31):  # a census reference date
        xml = tmp_path / "census.xml"
        done = export_return(recorded, policies=book, authority=AUTHORITY,
                             year=CensusYear(day.year), out=xml,
                             produced_at=datetime(2026, 5, 1, tzinfo=UTC))  # fmt: skip
        assert done.omitted == []
        assert _census(xml) == (episodes, cin_plans, cp_plans)


def test_report_folds_each_case_as_the_census_does(engine: Engine, book: PolicyBook) -> None:
    """The report folds each distinct history of plan events once (models/report/on_date.py);
    every 4 weeks of the census tests' year and these stories, its counts are those of folding
    each case's whole log, read as the census reads it."""
    for story in [*STORIES, *YEAR_2026]:
        record_story(engine, book, story)
    day, seen = date(2025, 1, 6), [0, 0, 0]
    while day <= date(2026, 4, 30):
        whole = [0, 0, 0]
        for per_child in child_logs(engine, authority=AUTHORITY, reference_date=day):
            for row, log in per_child:
                closed_on = date.fromisoformat(row[2]) if row[2] else None
                now = in_force_on(row[1], log, closed_on=closed_on, day=day)
                whole = [whole[0] + now.episode, whole[1] + now.cin_plan, whole[2] + now.cp_plan]
        report = authority_report(engine, book, AUTHORITY, day - timedelta(days=27), day)
        counted = [report[f"open_{m}_on_date"] for m in ("cases", "cin_plans", "cp_plans")]
        assert counted == whole, day
        seen = [max(a, b) for a, b in zip(seen, whole, strict=True)]
        day += timedelta(days=28)
    assert min(seen) > 0  # open episodes, CIN plans and CP plans on some of the days
