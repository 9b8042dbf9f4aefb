"""`cin report`'s closures are dated as the census return dates them (CINclosureDate): by the
closure the case state holds, not by the case's latest event. On SQLite and PostgreSQL.

The two differ when an assessment completed with no further action (or a step down to early
help) is authorised by the manager days later: the case closes on the authorisation (issue 19
point 3; the census's AssessmentAuthorisationDate is never after CINclosureDate, DfE rule 8565),
but no event is dated that day. Nothing else makes them differ: nothing can be recorded after a
closure, and a late entry is dated before the case's latest event, so before its closure.

Hand-built Redbridge histories, dates counted by hand (full calendar months open, as the
report's bands count them):

    PREV      referred Mon 3 Feb 2025, completed NFA Thu 27 Mar 2025, authorised Wed 2 Apr 2025:
              closes in 2025-26 (1 full month open: under 3 months)
    STEPDOWN  referred Mon 1 Dec 2025, completed step down Fri 27 Feb 2026, authorised Tue 3 Mar
              2026: closes in 2025-26 to early help, 1 Dec -> 3 Mar = 3 full months (3 to 6
              months); dated by its completion it was 2 full months (under 3 months)
    APRIL     referred Mon 2 Feb 2026, completed NFA Fri 27 Mar 2026, authorised Wed 1 Apr 2026:
              closes in 2026-27 (1 full month); open on 31 Mar 2026
    FRONTDOOR referred Mon 1 Sep 2025, no further action at the front door Tue 2 Sep 2025: closes
              that day (under 3 months), as before

On main's code (closure = latest event) 2025-26 had 3 closures (STEPDOWN, APRIL, FRONTDOOR), all
under 3 months, and April 2026 none; PREV was counted in 2024-25.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import Engine

from models.census.episodes import fold_episode
from models.census.export import export_return
from models.census.source import child_logs
from models.census.year import CensusYear
from models.policy.book import PolicyBook
from models.report import authority_report
from tests.models.census.caseload import referred
from tests.models.census.histories import AUTHORITY, Story, child, ev, record_story, upn_for


def _authorised_later(referral: str, done: str, outcome: str, authorised: str) -> list:
    return [
        referred(referral),
        ev("referral_decision", referral, outcome="assessment"),
        ev("assessment_completed", done, outcome=outcome, factors=["21"], authorised=authorised),
    ]


STORIES = [
    Story("PREV", child(upn=upn_for(31)),
          [_authorised_later("2025-02-03", "2025-03-27", "nfa", "2025-04-02")]),
    Story("STEPDOWN", child(upn=upn_for(32)),
          [_authorised_later("2025-12-01", "2026-02-27", "step_down", "2026-03-03")]),
    Story("APRIL", child(upn=upn_for(33)),
          [_authorised_later("2026-02-02", "2026-03-27", "nfa", "2026-04-01")]),
    Story("FRONTDOOR", child(upn=upn_for(34)), [[
        referred("2025-09-01"),
        ev("referral_decision", "2025-09-02", outcome="nfa"),
    ]]),
]  # fmt: skip


@pytest.fixture
def recorded(engine: Engine, book: PolicyBook) -> Engine:
    for story in STORIES:
        record_story(engine, book, story)
    return engine


def _closures(report: dict) -> tuple[int, dict[str, int], int]:
    bands = {k: v for k, v in report["closures_by_duration"].items() if not k.endswith("_pct")}
    return report["closures_total"], bands, report["closures_to_early_help"]


def test_closures_are_dated_by_the_authorisation(recorded: Engine, book: PolicyBook) -> None:
    year = authority_report(recorded, book, AUTHORITY, date(2025, 4, 1), date(2026, 3, 31))
    # PREV, STEPDOWN, FRONTDOOR; not APRIL
    assert _closures(year) == (
        3,
        {"under_3_months": 2, "3_to_6_months": 1, "6_to_9_months": 0, "9_months_and_over": 0},
        1,
    )
    assert year["episodes_ended"]["under_3_months"] == 2
    assert year["open_cases_on_date"] == 1  # APRIL, closed on 1 Apr

    april = authority_report(recorded, book, AUTHORITY, date(2026, 4, 1), date(2026, 4, 30))
    assert april["closures_total"] == 1  # APRIL
    assert april["closures_by_duration"]["under_3_months"] == 1

    before = authority_report(recorded, book, AUTHORITY, date(2024, 4, 1), date(2025, 3, 31))
    assert before["closures_total"] == 0  # PREV closed on 2 Apr 2025, not on 27 Mar
    assert before["open_cases_on_date"] == 1  # PREV


def test_closures_in_each_month_are_the_census_folds(
    recorded: Engine, book: PolicyBook, tmp_path: Path
) -> None:
    """The census fold's closures (the 2025-26 return's CINclosureDates, and FRONTDOOR's, which
    the return leaves out: ReferralNFA 1, issue 19 point 9) fall in the months the report counts
    its closures in (on main's code STEPDOWN was counted in February and APRIL in March)."""
    year = CensusYear(2026)
    folded = [
        fold_episode(row[1], log, state={"closed_on": row[2], "closure_reason": row[3]}, year=year)
        for per_child in child_logs(recorded, authority=AUTHORITY, reference_date=date(2026, 3, 31))
        for row, log in per_child
    ]
    closed = sorted(ep.closed_on for ep in folded if ep is not None and ep.closed_on is not None)
    assert closed == [date(2025, 4, 2), date(2025, 9, 2), date(2026, 3, 3)]

    xml = tmp_path / "census.xml"
    done = export_return(recorded, policies=book, authority=AUTHORITY, year=year, out=xml,
                         produced_at=datetime(2026, 5, 1, tzinfo=UTC))  # fmt: skip
    assert done.omitted == []
    written = sorted(
        text
        for text in (d.findtext("CINclosureDate") for d in etree.parse(str(xml)).iter("CINdetails"))
        if text is not None
    )
    assert written == ["2025-04-02", "2026-03-03"]  # not FRONTDOOR's 2 Sep

    for month in range(12):
        first = date(2025 + (3 + month) // 12, (3 + month) % 12 + 1, 1)
        last = date(first.year + first.month // 12, first.month % 12 + 1, 1) - timedelta(days=1)
        report = authority_report(recorded, book, AUTHORITY, first, last)
        assert report["closures_total"] == sum(first <= day <= last for day in closed), first
