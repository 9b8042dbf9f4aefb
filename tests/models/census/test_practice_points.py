"""Issue 19: sequences real practice produces are accepted, and the return built from them passes
the DfE's rules (csc-validator-be-cin, the census venv). Each story is recorded through the real
accept path, on SQLite and PostgreSQL; every date is counted by hand in the comments.

Sources: Working Together to Safeguard Children 2023, chapter 2 (assessment within 45 working
days of the referral; a strategy discussion decides whether s47 enquiries are needed; the ICPC
within 15 working days of the strategy discussion); Stockton 001 L353-355 (after enquiries the
outcomes are the council's); the DfE rules as the validator implements them (2990, 8565, 8736,
8867)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from lxml import etree
from sqlmodel import Session, select

from models.cases.store import record
from models.census.check import check_return
from models.census.export import export_return
from models.census.year import CensusYear
from models.lifecycle import EventRefused, parse_event
from models.settings import get_settings
from models.tables import Case
from tests.models.census.histories import AUTHORITY, Story, child, ev, record_story, upn_for

YEAR = CensusYear(2026)
NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def referred(on: str) -> dict[str, object]:
    return ev("referral_received", on, source="2A", primary_need="N1")


STORIES = [
    # point 1: the assessment goes on through s47 enquiries and an ICPC that makes a plan, and
    # completes after it. Referral Mon 2 Jun 2025; ICPC 15 WD from the strategy discussion on
    # Tue 3 Jun: 4-6 Jun (3), 9-13 (8), 16-20 (13), 23 (14), Tue 24 Jun (15); the ICPC is held
    # Fri 20 Jun; the assessment, due 45 WD from 2 Jun = Mon 4 Aug, completes Tue 1 Jul.
    Story(
        "ASSESSBESIDECPP",
        child("2013-01-01", upn=upn_for(61)),
        [
            [
                referred("2025-06-02"),
                ev("referral_decision", "2025-06-02", outcome="strategy_discussion"),
                ev("s47_started", "2025-06-03"),
                ev("icpc_held", "2025-06-20", outcome="cp_plan", category="NEG"),
                ev("assessment_completed", "2025-07-01", outcome="escalate", factors=["3B"]),
                ev("cp_review_held", "2025-09-19", outcome="continue"),
                ev("cp_review_held", "2026-03-16", outcome="continue"),
            ]
        ],
    ),
    # point 2: the strategy discussion decides no s47 enquiries; the assessment goes on and
    # ends NFA: RC8, no Section47 block
    Story(
        "STRATEGYNOS47",
        child("2013-01-01", upn=upn_for(62)),
        [
            [
                referred("2025-06-02"),
                ev("referral_decision", "2025-06-02", outcome="strategy_discussion"),
                ev("strategy_discussion_held", "2025-06-03", outcome="no_s47"),
                ev("assessment_completed", "2025-06-30", outcome="nfa", factors=["21"]),
            ]
        ],
    ),
    # point 3: completed NFA on Fri 27 Jun, authorised by the manager on Wed 2 Jul: the case
    # closes on 2 Jul (DfE rule 8565: no activity after the closure)
    Story(
        "AUTHORISEDLATER",
        child("2013-01-01", upn=upn_for(63)),
        [
            [
                referred("2025-06-02"),
                ev("referral_decision", "2025-06-02", outcome="assessment"),
                ev("assessment_started", "2025-06-03"),
                ev(
                    "assessment_completed",
                    "2025-06-27",
                    outcome="nfa",
                    factors=["21"],
                    authorised="2025-07-02",
                ),
            ]
        ],
    ),
    # point 10: s47 enquiries concluded "ICPC not required", the assessment ends NFA: RC7
    # (DfE rule 2990 refuses RC8/RC9 on an episode with s47 activity)
    Story(
        "S47THENNFA",
        child("2013-01-01", upn=upn_for(64)),
        [
            [
                referred("2025-06-02"),
                ev("referral_decision", "2025-06-02", outcome="assessment"),
                ev("s47_started", "2025-06-05"),
                ev("s47_concluded", "2025-06-20", outcome="icpc_not_required"),
                ev("assessment_completed", "2025-07-01", outcome="nfa", factors=["3B"]),
            ]
        ],
    ),
    # point 4: an assessment that escalated, an ICPC with no plan: no CIN plan is assumed; the
    # council closes the case (RC7: s47 activity rules out RC8)
    Story(
        "ICPCNOPLAN",
        child("2013-01-01", upn=upn_for(65)),
        [
            [
                referred("2025-06-02"),
                ev("referral_decision", "2025-06-02", outcome="assessment"),
                ev("assessment_completed", "2025-06-23", outcome="escalate", factors=["3B"]),
                ev("s47_started", "2025-06-24"),
                ev("icpc_held", "2025-07-08", outcome="no_plan"),
                ev("case_closed", "2025-07-15", reason="RC7"),
            ]
        ],
    ),
]


def _children(path: Path) -> dict[str, etree._Element]:
    root = etree.parse(str(path)).getroot()
    return {c.findtext("ChildIdentifiers/LAchildID"): c for c in root.iter("Child")}


def test_lawful_sequences_are_accepted_and_the_return_has_no_dfe_error(
    engine, book, tmp_path
) -> None:
    refs = {story.child_ref: record_story(engine, book, story)[0] for story in STORIES}
    out = tmp_path / "return.xml"
    export_return(engine, policies=book, authority=AUTHORITY, year=YEAR, out=out, produced_at=NOW)
    children = _children(out)

    beside = children["ASSESSBESIDECPP"].find("CINdetails")
    assert beside.findtext("Assessments/AssessmentAuthorisationDate") == "2025-07-01"
    assert beside.findtext("ChildProtectionPlans/CPPstartDate") == "2025-06-20"
    assert beside.findtext("Section47/DateOfInitialCPC") == "2025-06-20"

    no_s47 = children["STRATEGYNOS47"].find("CINdetails")
    assert no_s47.find("Section47") is None
    assert no_s47.findtext("ReasonForClosure") == "RC8"

    later = children["AUTHORISEDLATER"].find("CINdetails")
    assert later.findtext("CINclosureDate") == "2025-07-02"
    assert later.findtext("Assessments/AssessmentAuthorisationDate") == "2025-07-02"

    s47_nfa = children["S47THENNFA"].find("CINdetails")
    assert s47_nfa.findtext("ReasonForClosure") == "RC7"
    assert s47_nfa.findtext("Section47/ICPCnotRequired") == "1"
    assert children["ICPCNOPLAN"].find("CINdetails/CINPlanDates") is None

    report = check_return(
        engine,
        policies=book,
        authority=AUTHORITY,
        year=YEAR,
        produced_at=NOW,
        census_python=get_settings().census_python,
    )
    errors = [(f.case_ref, f.code) for f in report.findings if f.level == "Error"]
    assert errors == []
    assert report.children == len(STORIES)

    with Session(engine) as session:
        cases = {c.case_ref: c for c in session.exec(select(Case)).all()}
    stages = {ref: cases[case].stage for ref, case in refs.items()}
    assert stages == {
        "ASSESSBESIDECPP": "cp_plan",
        "STRATEGYNOS47": "closed",
        "AUTHORISEDLATER": "closed",
        "S47THENNFA": "closed",
        "ICPCNOPLAN": "closed",
    }


def test_rc8_after_s47_enquiries_is_refused_naming_rule_2990(engine, book) -> None:
    story = Story(
        "RC8AFTERS47",
        child("2013-01-01", upn=upn_for(66)),
        [
            [
                referred("2025-06-02"),
                ev("referral_decision", "2025-06-02", outcome="assessment"),
                ev("assessment_completed", "2025-06-23", outcome="escalate", factors=["3B"]),
                ev("s47_started", "2025-06-24"),
                ev("icpc_held", "2025-07-08", outcome="no_plan"),
            ]
        ],
    )
    (case_ref,) = record_story(engine, book, story)
    try:
        record(
            engine,
            policies=book,
            case_ref=case_ref,
            event=parse_event(ev("case_closed", "2025-07-15", reason="RC8")),
        )
    except EventRefused as refusal:
        assert "rule 2990" in refusal.reason and "expected RC7" in refusal.reason
    else:
        raise AssertionError("RC8 after s47 enquiries was accepted")
