"""`cin census export` on the demo's caseload: every authority's return for 2025-26 passes the
XSD and the DfE's rules with no error, and the demo's children and events carry plausible census
data (checked by the same validation the CLI applies)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session

from demo.caseload import generate_caseload
from demo.census_demo import child_details, with_census_fields
from demo.census_returns import census_returns, record_children, send_record
from demo.demo import AUTHORITIES, DAYS, START
from engine.ingest import Ingest
from models.cases.store import sync_authorities
from models.census.check import check_return, xsd_problems
from models.census.child import parse_child
from models.census.export import export_return
from models.census.year import CensusYear
from models.lifecycle import EventRefused, parse_event
from models.settings import get_settings


def test_the_demos_returns_pass_the_xsd_and_the_dfe_rules(engine, book, tmp_path):
    records = generate_caseload(authorities=AUTHORITIES, cases=120, start=START, days=DAYS,
                                seed=2026, policies=book)  # fmt: skip
    ingest = Ingest(engine, book, deliver=False)
    with Session(engine) as session:
        sync_authorities(session, policies=book)
    assert record_children(ingest, records) > 0
    cases: dict[str, str] = {}
    refused = []
    for record in records:
        try:
            send_record(ingest, record, cases)
        except EventRefused as refusal:
            refused.append(str(refusal))
    assert refused == []
    factors = [r.event["factors"] for r in records if r.event["type"] == "assessment_completed"]
    assert factors and all(f == ["21"] or "21" not in f for f in factors)

    year = CensusYear(2026)
    now = datetime(2026, 1, 6, tzinfo=UTC)
    for authority in AUTHORITIES:
        out = tmp_path / f"{authority}.xml"
        done = export_return(engine, policies=book, authority=authority, year=year, out=out,
                             produced_at=now)  # fmt: skip
        assert done.omitted == [] and done.children > 0, authority
        assert xsd_problems(out) == [], authority
        report = check_return(engine, policies=book, authority=authority, year=year,
                              produced_at=now,
                              census_python=get_settings().census_python)  # fmt: skip
        errors = [(f.case_ref, f.code, f.field, f.correct) for f in report.findings
                  if f.level == "Error"]  # fmt: skip
        assert errors == [], authority
    # the demo's own step, two authorities at a time: its lines in the authorities' order
    lines = census_returns(ingest, AUTHORITIES, year=2026, folder=tmp_path / "returns")
    summaries = [line.split()[0] for line in lines[1:] if not line.startswith("      rule")]
    assert summaries == list(AUTHORITIES)
    assert all("DfE rules: 0 errors" in line for line in lines[1:] if "DfE rules" in line)
    assert sorted(p.name for p in (tmp_path / "returns").iterdir()) == sorted(
        f"{authority}-2026.xml" for authority in AUTHORITIES
    )


def test_demo_children_and_events_get_valid_census_data():
    for n in range(300):
        details = child_details(f"SYN{n:06d}", la_code="317", referred=START)
        parse_child(details)  # raises on any invalid code, date or UPN
    plan = with_census_fields(
        {"type": "icpc_held", "on": "2025-03-03", "outcome": "cp_plan"}, "k-1"
    )
    assert parse_event(plan).category in ("NEG", "EMO", "PHY", "SAB", "MUL")  # type: ignore[union-attr]
    none = with_census_fields({"type": "icpc_held", "on": "2025-03-03", "outcome": "no_plan"}, "k")
    assert "category" not in none
