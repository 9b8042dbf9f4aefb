"""Issue 19 point 9: front-door closures. A referral that ends at the decision (no further
action, or early help) has ReferralNFA = 1 and no assessment; the return's closure codes for those
endings are RC8 and RC9 (CODES.md: "case closed after assessment, no further action / referred to
early help"), so the DfE's rule 8825Q ("RC8 or RC9 ... but there is no assessment present for the
episode") raises a query. It is not an error, and nothing in the log is wrong: `cin census check`
says so and what to tell the DfE, instead of "correct event 2". On SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from lxml import etree

from models.census.check import FRONT_DOOR_8825Q, check_return
from models.census.export import export_return
from models.census.year import CensusYear
from models.settings import get_settings
from tests.models.census.histories import AUTHORITY, Story, child, ev, record_story, upn_for

YEAR = CensusYear(2026)
NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)

STORIES = [
    Story(
        "FRONTNFA",
        child("2013-01-01", upn=upn_for(71)),
        [
            [
                ev("referral_received", "2025-06-02", source="2A", primary_need="N1"),
                ev("referral_decision", "2025-06-03", outcome="nfa"),
            ]
        ],
    ),
    Story(
        "FRONTEARLYHELP",
        child("2013-01-01", upn=upn_for(72)),
        [
            [
                ev("referral_received", "2025-06-02", source="2A", primary_need="N1"),
                ev("referral_decision", "2025-06-03", outcome="early_help"),
            ]
        ],
    ),
]


def test_a_front_door_closure_raises_only_the_explained_query(engine, book, tmp_path: Path):
    refs = [record_story(engine, book, story)[0] for story in STORIES]
    out = tmp_path / "return.xml"
    export_return(engine, policies=book, authority=AUTHORITY, year=YEAR, out=out, produced_at=NOW)
    root = etree.parse(str(out)).getroot()
    written = {
        c.findtext("ChildIdentifiers/LAchildID"): (
            c.findtext("CINdetails/ReferralNFA"),
            c.findtext("CINdetails/ReasonForClosure"),
            c.findtext("CINdetails/CINclosureDate"),
            c.find("CINdetails/Assessments"),
        )
        for c in root.iter("Child")
    }
    assert written == {
        "FRONTNFA": ("1", "RC8", "2025-06-03", None),
        "FRONTEARLYHELP": ("1", "RC9", "2025-06-03", None),
    }

    report = check_return(
        engine,
        policies=book,
        authority=AUTHORITY,
        year=YEAR,
        produced_at=NOW,
        census_python=get_settings().census_python,
    )
    assert [f for f in report.findings if f.level == "Error"] == []
    front_door = sorted(
        (f.case_ref, f.level, f.correct) for f in report.findings if f.code == "8825Q"
    )
    assert front_door == sorted((ref, "Query", FRONT_DOOR_8825Q) for ref in refs)
    assert "correct event" not in FRONT_DOOR_8825Q and "ReferralNFA = 1" in FRONT_DOOR_8825Q
