"""`cin census export` and `check` on hand-built histories, on SQLite and PostgreSQL: the return
validates against the XSD and the DfE's 2025-26 rules find no error; planted recording mistakes
get the DfE's rule numbers, traced to the case and the event to correct."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

from lxml import etree

from models.census.check import check_return, xsd_problems
from models.census.dfe_rules import run_dfe_rules
from models.census.export import export_return
from models.census.own_rules import own_rule_failures
from models.census.year import CensusYear
from models.settings import get_settings
from tests.models.census.caseload import (
    YEAR_2026,
    assessed,
    planned,
    record_mistakes,
    referred,
)
from tests.models.census.histories import (
    AUTHORITY,
    Story,
    child,
    ev,
    record_story,
    upn_for,
)

YEAR = CensusYear(2026)
NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def _check(engine, book):
    return check_return(
        engine,
        policies=book,
        authority=AUTHORITY,
        year=YEAR,
        produced_at=NOW,
        census_python=get_settings().census_python,
    )


def _children(path: Path) -> dict[str, etree._Element]:
    root = etree.parse(str(path)).getroot()
    return {c.findtext("ChildIdentifiers/LAchildID"): c for c in root.iter("Child")}


def test_a_year_of_histories_passes_the_xsd_and_the_dfe_rules(engine, book, tmp_path):
    refs = {story.child_ref: record_story(engine, book, story) for story in YEAR_2026}
    out = tmp_path / "return.xml"
    done = export_return(
        engine, policies=book, authority=AUTHORITY, year=YEAR, out=out, produced_at=NOW
    )

    assert done.omitted == []
    assert done.children == len(YEAR_2026)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert xsd_problems(out) == []
    children = _children(out)
    assert children.keys() == {s.child_ref for s in YEAR_2026}
    assert etree.parse(str(out)).findtext("Header/Source/LEA") == "317"

    rereferred = children["REREFERRED"].findall("CINdetails")
    # the first ended at the front door: ReferralNFA 1 and no closure (issue 19 point 9,
    # test_front_door.py)
    assert [c.findtext("ReasonForClosure") for c in rereferred] == [None, "RC7"]
    assert [c.findtext("CINclosureDate") for c in rereferred] == [None, "2026-01-20"]
    assert [c.findtext("ReferralNFA") for c in rereferred] == ["1", "0"]
    second = rereferred[1]
    assert second.findtext("Assessments/AssessmentActualStartDate") == "2025-09-03"
    assert second.findtext("Assessments/AssessmentAuthorisationDate") == "2025-10-02"
    assert [f.text for f in second.iter("AssessmentFactors")] == ["3B", "4B"]
    assert second.findtext("CINPlanDates/CINPlanEndDate") == "2026-01-20"

    moved_in = children["TRANSFERREDIN"].find("CINdetails")
    assert moved_in.findtext("ReferralSource") == "5C"
    assert moved_in.find("CINclosureDate") is None  # open at 31 March
    assert moved_in.find("CINPlanDates/CINPlanEndDate") is None
    assert [d.text for d in children["TRANSFERREDIN"].iter("Disability")] == ["AUT", "LD"]

    unborn = children["UNBORN"].find("ChildIdentifiers")
    assert unborn.findtext("ExpectedPersonBirthDate") == "2026-05-01"
    assert unborn.find("PersonBirthDate") is None
    assert (unborn.findtext("Sex"), unborn.findtext("UPNunknown")) == ("U", "UN1")
    assert children["NOUPN"].find("ChildIdentifiers/UPN") is None

    protected = children["NOUPN"].find("CINdetails")
    assert protected.findtext("Section47/S47ActualStartDate") == "2025-06-05"
    assert protected.findtext("Section47/DateOfInitialCPC") == "2025-06-20"
    assert protected.findtext("ChildProtectionPlans/CPPstartDate") == "2025-06-20"
    assert protected.findtext("ChildProtectionPlans/InitialCategoryOfAbuse") == "NEG"
    assert protected.findtext("ChildProtectionPlans/NumberOfPreviousCPP") == "0"
    # the CIN plan ended the day the child protection plan started (DfE rule 4016)
    assert protected.find("CINPlanDates") is None  # no plan met before the ICPC

    not_required = children["ICPCNOTREQUIRED"].find("CINdetails/Section47")
    assert not_required.findtext("ICPCnotRequired") == "1"
    assert not_required.find("DateOfInitialCPC") is None
    stepped = children["CPTOCIN"].find("CINdetails")
    plans = [(p.findtext("CINPlanStartDate"), p.findtext("CINPlanEndDate"))
             for p in stepped.findall("CINPlanDates")]  # fmt: skip
    assert plans == [("2025-06-02", "2025-06-30"), ("2026-01-26", None)]
    cp = stepped.find("ChildProtectionPlans")
    assert (cp.findtext("CPPstartDate"), cp.findtext("CPPendDate")) == ("2025-06-30", "2026-01-12")
    assert (cp.findtext("InitialCategoryOfAbuse"), cp.findtext("LatestCategoryOfAbuse")) == (
        "NEG", "EMO",
    )  # fmt: skip
    assert [r.text for r in cp.iter("CPPreviewDate")] == ["2025-09-29", "2026-01-12"]

    older = children["LONGRUNNING"].find("CINdetails")
    assert older.findtext("CINreferralDate") == "2024-10-01"
    assert older.find("Assessments") is None  # authorised before 1 April 2025
    assert older.findtext("CINPlanDates/CINPlanStartDate") == "2024-11-20"

    reasons = {
        ref: children[ref].findtext("CINdetails/ReasonForClosure")
        for ref in children
        if ref.startswith("CLOSED")
    }
    assert reasons == {f"CLOSEDRC{n}": f"RC{n}" for n in (1, 2, 3, 4, 5, 6, 8, 9)}

    report = _check(engine, book)
    errors = [f for f in report.findings if f.level == "Error"]
    assert errors == []
    assert report.children == len(YEAR_2026)
    assert refs  # every story was recorded through the accept path


def test_planted_mistakes_get_the_dfe_rule_numbers_and_the_event_to_correct(engine, book):
    refs = record_mistakes(engine, book)

    report = _check(engine, book)
    found = {
        (f.case_ref, f.code, f.field, f.correct) for f in report.findings if f.level == "Error"
    }

    early = refs["AUTHORISEDEARLY"]
    assert (
        early,
        "8608",
        "Assessments.AssessmentAuthorisationDate",
        "event 4 (assessment_completed)",
    ) in found
    assert (
        early,
        "8608",
        "Assessments.AssessmentActualStartDate",
        "event 3 (assessment_started)",
    ) in found
    factor = refs["FACTOR21"]
    assert any(case == factor and code == "8869" for case, code, _, _ in found)
    assert all(
        fix == "event 4 (assessment_completed)"
        for case, code, _, fix in found
        if case == factor and code == "8869"
    )
    rc8 = refs["RC8WITHPLAN"]
    assert (rc8, "2990", "CINdetails.ReasonForClosure", "event 6 (case_closed)") in found
    assert (rc8, "2990", "CINplanDates.LAchildID", "event 5 (cin_meeting_held)") in found
    assert {code for _, code, _, _ in found} == {"8608", "8869", "2990"}
    assert report.errors == len([f for f in report.findings if f.level == "Error"]) > 0
    summary = {code: count for code, _, count, _ in report.by_rule()}
    assert summary["8608"] == 2 and summary["2990"] >= 1


def test_missing_child_details_and_category_leave_cases_out_by_name(engine, book, tmp_path):
    no_details = Story("NODETAILS", None, [[referred("2025-05-01")]])
    no_category = Story(
        "NOCATEGORY",
        child("2012-01-01", upn=upn_for(40)),
        [
            [
                *planned("2025-05-01", "2025-05-02", "2025-06-02", "2025-06-10"),
                ev("s47_started", "2025-07-01"),
                ev("icpc_held", "2025-07-10", outcome="cp_plan"),
            ]
        ],
    )
    complete = Story("COMPLETE", child("2012-01-01", upn=upn_for(41)), [[referred("2025-05-01")]])
    (missing,) = record_story(engine, book, no_details)
    (uncategorised,) = record_story(engine, book, no_category)
    record_story(engine, book, complete)

    done = export_return(
        engine, policies=book, authority=AUTHORITY, year=YEAR, out=tmp_path / "r.xml",
        produced_at=NOW,
    )  # fmt: skip

    assert done.children == 1
    assert [(o.case_ref, o.reason) for o in done.omitted] == [
        (
            uncategorised,
            "event 7 (icpc_held): no category of abuse (record --category NEG|PHY|SAB|EMO|MUL)",
        ),
        (missing, "the child's details (cin child set) not set"),
    ]
    assert xsd_problems(tmp_path / "r.xml") == []


def test_the_validator_alone_misses_factor_21_beside_others_so_the_engine_checks_it(
    engine, book, tmp_path
):
    story = Story(
        "FACTOR21",
        child("2012-01-01", upn=upn_for(50)),
        [[referred("2025-05-01"), *assessed("2025-05-02", "2025-06-02", "nfa", "21", "4B")]],
    )
    record_story(engine, book, story)
    out = tmp_path / "r.xml"
    export_return(engine, policies=book, authority=AUTHORITY, year=YEAR, out=out, produced_at=NOW)

    alone = run_dfe_rules(out, year=2026, python=get_settings().census_python)
    assert "8869" not in {f.code for f in alone}
    assert [(f.code, f.row) for f in own_rule_failures(out)] == [("8869", 0)]
