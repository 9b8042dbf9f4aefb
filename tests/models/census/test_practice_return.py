"""Issue 19's property on the census return: histories drawn from the model of practice
(demo/practice_model.py: written from the seeds and Working Together, not from the
engine's machine), recorded through the real accept path on SQLite and PostgreSQL, make a
2025-26 return with no DfE error (csc-validator-be-cin, the census venv), and every query it
raises is one docs/practice.md explains. Every case rebuilds to its live state, and `cin
report` counts the return's closures (CINclosureDate) in each week of the year.

Bounded here (one return per database); bench/practice_bench.py runs thousands of histories
through the lifecycle and the DfE rules on larger returns."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from lxml import etree

from demo.practice_model import EXPLAINED_QUERIES, practice_children
from models.cases.ledger import rebuild
from models.census.check import check_return
from models.census.episodes import fold_episode
from models.census.export import export_return
from models.census.source import child_logs
from models.census.year import CensusYear
from models.report import authority_report
from models.settings import get_settings
from tests.models.census.histories import AUTHORITY, Story, child, record_story, upn_for

YEAR = CensusYear(2026)
NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def practice_stories(seed: int, children: int) -> list[Story]:
    return [
        Story(f"PRACTICE{n}", child("2012-05-05", upn=upn_for(100 + n)), episodes)
        for n, episodes in enumerate(practice_children(seed, children))
    ]


def test_practice_histories_make_a_return_with_no_dfe_error(engine, book, tmp_path: Path) -> None:
    stories = practice_stories(seed=19, children=30)
    refs = [ref for story in stories for ref in record_story(engine, book, story)]
    events = sum(len(events) for story in stories for events in story.episodes)
    assert len(refs) >= 30 and events > 150

    report = check_return(
        engine,
        policies=book,
        authority=AUTHORITY,
        year=YEAR,
        produced_at=NOW,
        census_python=get_settings().census_python,
    )
    errors = [
        (f.case_ref, f.code, f.field, f.correct) for f in report.findings if f.level == "Error"
    ]
    assert errors == []
    queries = {f.code for f in report.findings if f.level != "Error"}
    assert queries <= EXPLAINED_QUERIES, queries
    assert report.children > 0

    for case_ref in refs:
        done = rebuild(engine, policies=book, case_ref=case_ref)
        assert (done["state_matched"], done["deadlines_matched"]) == (True, True), case_ref

    # the report dates a closure as the census fold does (the case state's, not its latest
    # event's: an NFA authorised 1-5 days later closes on the authorisation), week by week; the
    # return writes the fold's closures, but for referrals that ended at the front door
    # (ReferralNFA 1, written with no closure: issue 19 point 9)
    folded = [
        fold_episode(row[1], log, state={"closed_on": row[2], "closure_reason": row[3]}, year=YEAR)
        for per_child in child_logs(engine, authority=AUTHORITY, reference_date=YEAR.reference_date)
        for row, log in per_child
    ]
    closed = [ep.closed_on for ep in folded if ep is not None and ep.closed_on is not None]
    xml = tmp_path / "census.xml"
    assert export_return(engine, policies=book, authority=AUTHORITY, year=YEAR, out=xml,
                         produced_at=NOW).omitted == []  # fmt: skip
    written = sorted(
        date.fromisoformat(text)
        for text in (d.findtext("CINclosureDate") for d in etree.parse(str(xml)).iter("CINdetails"))
        if text is not None
    )
    in_year = [ep for ep in folded if ep is not None and ep.closed_on is not None
               and ep.closed_on >= YEAR.start]  # fmt: skip
    assert written == sorted(ep.closed_on for ep in in_year if not ep.referral_nfa)
    first, weeks = date(2025, 4, 1), 0
    while first <= YEAR.reference_date:
        last = min(first + timedelta(days=6), YEAR.reference_date)
        report = authority_report(engine, book, AUTHORITY, first, last)
        assert report["closures_total"] == sum(first <= day <= last for day in closed), first
        first, weeks = last + timedelta(days=1), weeks + 1
    assert len(in_year) > 0 and weeks == 53
