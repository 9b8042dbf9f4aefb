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
from models.census.export import export_return
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

    # the report dates a closure as the return does (the case state's, not its latest event's:
    # an NFA authorised 1-5 days later closes on the authorisation), week by week
    xml = tmp_path / "census.xml"
    assert export_return(engine, policies=book, authority=AUTHORITY, year=YEAR, out=xml,
                         produced_at=NOW).omitted == []  # fmt: skip
    closed = [
        date.fromisoformat(text)
        for text in (d.findtext("CINclosureDate") for d in etree.parse(str(xml)).iter("CINdetails"))
        if text is not None
    ]
    first, in_year = date(2025, 4, 1), 0
    while first <= YEAR.reference_date:
        last = min(first + timedelta(days=6), YEAR.reference_date)
        report = authority_report(engine, book, AUTHORITY, first, last)
        week = sum(first <= day <= last for day in closed)
        assert report["closures_total"] == week, first
        in_year, first = in_year + week, last + timedelta(days=1)
    assert in_year > 0
