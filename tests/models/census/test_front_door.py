"""Issue 19 point 9: front-door closures. A referral that ends at the decision (no further
action, or early help) is written ReferralNFA = 1 with no assessment, and with no CINclosureDate
or ReasonForClosure. On SQLite and PostgreSQL, through the real DfE rules (csc-validator-be-cin
0.1.13, the census venv).

Why (the DfE's census guide itself could not be read here; its rules could, in
`cin_validator/rules/cin2022_23/`):
- rule_8815.py ("More than one open CIN Details episode (a module with no CIN Closure Date) has
  been provided for this child and case is not a referral with no further action"), its notes:
  "there may be more than one module with no <CINclosureDate> where <ReferralNFA> = true/1";
  rule_8816.py ("An open CIN episode is shown and case is not a referral with no further action,
  but it is not the latest episode") and rule_8820.py (overlapping episodes: an episode without a
  closure date runs to the reference date only when ReferralNFA is false or 0): an episode with
  ReferralNFA = 1 and no closure date is not an open episode;
- rule_8805.py and rule_8810.py: a closure date and a reason come together or not at all;
- rule_8825Q.py: RC8 or RC9 (the only reasons for "no further action" and "referred to early
  help", both "case closed after assessment") with no assessment raise a query on every such
  child (the return before this change: one 8825Q per front-door referral).

Hand-built children (decision dates counted by hand):
    FRONTNFA        referred Mon 2 Jun 2025, no further action Tue 3 Jun
    FRONTEARLYHELP  referred Mon 2 Jun 2025, early help Tue 3 Jun
    NFATHENPLAN     no further action the day of its referral, Thu 1 May 2025; referred again
                    Tue 1 Jul 2025, CIN plan from Mon 11 Aug, open on 31 Mar 2026
    TWICETHENOPEN   no further action Fri 2 May 2025, early help Mon 1 Sep 2025 (both at the front
                    door), referred again Mon 2 Mar 2026 and in assessment on 31 Mar 2026: three
                    episodes, two of them NFA with no closure date, one open (rules 8815/8816/8820)
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from lxml import etree

from models.census.check import check_return
from models.census.export import export_return
from models.census.year import CensusYear
from models.report import authority_report
from models.settings import get_settings
from tests.models.census.caseload import planned
from tests.models.census.histories import AUTHORITY, Story, child, ev, record_story, upn_for

YEAR = CensusYear(2026)
NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def _front_door(referral: str, decision: str, outcome: str) -> list[dict[str, object]]:
    return [
        ev("referral_received", referral, source="2A", primary_need="N1"),
        ev("referral_decision", decision, outcome=outcome),
    ]


STORIES = [
    Story("FRONTNFA", child("2013-01-01", upn=upn_for(71)),
          [_front_door("2025-06-02", "2025-06-03", "nfa")]),
    Story("FRONTEARLYHELP", child("2013-01-01", upn=upn_for(72)),
          [_front_door("2025-06-02", "2025-06-03", "early_help")]),
    Story("NFATHENPLAN", child("2013-01-01", upn=upn_for(73)), [
        _front_door("2025-05-01", "2025-05-01", "nfa"),
        planned("2025-07-01", "2025-07-02", "2025-08-01", "2025-08-11"),
    ]),
    Story("TWICETHENOPEN", child("2013-01-01", upn=upn_for(74)), [
        _front_door("2025-05-01", "2025-05-02", "nfa"),
        _front_door("2025-09-01", "2025-09-01", "early_help"),
        [ev("referral_received", "2026-03-02", source="2A", primary_need="N1"),
         ev("referral_decision", "2026-03-03", outcome="assessment")],
    ]),
]  # fmt: skip


def test_a_front_door_referral_is_written_without_a_closure_and_raises_no_query(
    engine, book, tmp_path: Path
) -> None:
    for story in STORIES:
        record_story(engine, book, story)
    out = tmp_path / "return.xml"
    export_return(engine, policies=book, authority=AUTHORITY, year=YEAR, out=out, produced_at=NOW)
    written = {
        c.findtext("ChildIdentifiers/LAchildID"): [
            (
                d.findtext("CINreferralDate"),
                d.findtext("ReferralNFA"),
                d.findtext("CINclosureDate"),
                d.findtext("ReasonForClosure"),
                d.find("Assessments") is not None,
            )
            for d in c.iter("CINdetails")
        ]
        for c in etree.parse(str(out)).getroot().iter("Child")
    }
    assert written == {
        "FRONTNFA": [("2025-06-02", "1", None, None, False)],
        "FRONTEARLYHELP": [("2025-06-02", "1", None, None, False)],
        "NFATHENPLAN": [
            ("2025-05-01", "1", None, None, False),
            ("2025-07-01", "0", None, None, True),
        ],
        "TWICETHENOPEN": [
            ("2025-05-01", "1", None, None, False),
            ("2025-09-01", "1", None, None, False),
            ("2026-03-02", "0", None, None, True),  # its assessment under way
        ],
    }

    report = check_return(
        engine,
        policies=book,
        authority=AUTHORITY,
        year=YEAR,
        produced_at=NOW,
        census_python=get_settings().census_python,
    )
    assert report.children == 4
    # no error and no query on any child: in particular no 8825Q, and none of 8805/8810 (date
    # and reason together), 8815/8816/8820 (open and overlapping episodes)
    assert [(f.case_ref, f.code) for f in report.findings if f.case_ref is not None] == []

    # the engine's own figures still count the front-door referrals as ended on the decision:
    # on 31 Mar 2026 two episodes are open (NFATHENPLAN's plan, TWICETHENOPEN's assessment)
    year = authority_report(engine, book, AUTHORITY, date(2025, 4, 1), date(2026, 3, 31))
    assert year["open_cases_on_date"] == 2
    assert year["closures_total"] == 5  # the five front-door decisions
    assert year["closures_to_early_help"] == 2
