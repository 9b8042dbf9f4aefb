"""The fast way into the DfE's rules gives the validator's own tables and the same failures.

csc-validator-be-cin reads a return into its tables by concatenating a DataFrame per child and
block, which takes hours for a large council; `cin census check` reads it with `linear_tables`
instead and hands the tables to the validator's own rule runner. On the hand-built histories,
the planted mistakes and the demo's caseload, both readings give identical tables (pandas' frame
comparison in the census venv: values, dtypes, columns, index) and identical rule failures.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session

from demo.caseload import generate_caseload
from demo.census_returns import record_children, send_record
from demo.demo import AUTHORITIES, DAYS, START
from engine.ingest import Ingest
from models.cases.store import sync_authorities
from models.census.dfe_rules import run_dfe_rules
from models.census.export import export_return
from models.census.year import CensusYear
from models.settings import get_settings
from tests.models.census.caseload import YEAR_2026, record_mistakes
from tests.models.census.histories import AUTHORITY, record_story

COMPARE = Path(__file__).with_name("dfe_ingest_compare.py")
NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
YEAR = CensusYear(2026)


def _export(engine, book, authority: str, out: Path) -> Path:
    done = export_return(engine, policies=book, authority=authority, year=YEAR, out=out,
                         produced_at=NOW)  # fmt: skip
    assert done.children > 0 and done.omitted == []
    return out


def _demo_caseload(engine, book) -> None:
    records = generate_caseload(authorities=AUTHORITIES, cases=20, start=START, days=DAYS,
                                seed=7, policies=book)  # fmt: skip
    ingest = Ingest(engine, book, deliver=False)
    with Session(engine) as session:
        sync_authorities(session, policies=book)
    record_children(ingest, records)
    cases: dict[str, str] = {}
    for record in records:
        send_record(ingest, record, cases)


# One database is enough here: what is compared is the XML's reading, and the export is tested
# on SQLite and PostgreSQL in test_export.py.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_linear_ingest_gives_the_validators_tables_and_failures(engine, book, tmp_path):
    for story in YEAR_2026:
        record_story(engine, book, story)
    returns = [_export(engine, book, AUTHORITY, tmp_path / "histories.xml")]
    record_mistakes(engine, book)  # same authority: a second return, histories and mistakes
    returns.append(_export(engine, book, AUTHORITY, tmp_path / "mistakes.xml"))
    _demo_caseload(engine, book)
    returns += [_export(engine, book, a, tmp_path / f"demo-{a}.xml") for a in AUTHORITIES]

    python = get_settings().census_python
    done = subprocess.run([str(python), str(COMPARE), *map(str, returns)],
                          capture_output=True, text=True, check=True)  # fmt: skip
    compared = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(compared) == len(returns)
    rows: Counter[str] = Counter()
    for path, result in zip(returns, compared, strict=True):
        assert result["order"], path.name
        for table, (count, verdict) in result["tables"].items():
            assert verdict == "identical", (path.name, table, verdict)
            rows[table] += count
    # every table the rules read held rows somewhere, so each comparison compared something
    assert all(rows[t] > 0 for t in result["tables"]), rows

    codes: Counter[str] = Counter()
    for path in returns:
        ours = run_dfe_rules(path, year=2026, python=python, ingest="linear")
        theirs = run_dfe_rules(path, year=2026, python=python, ingest="validator")
        assert ours == theirs, path.name
        codes.update(f.code for f in ours)
    assert codes["8608"] >= 2 and codes["2990"] >= 1  # the planted mistakes were found by both


def test_an_unknown_ingest_is_refused(tmp_path):
    python = get_settings().census_python
    try:
        run_dfe_rules(tmp_path / "r.xml", year=2026, python=python, ingest="fast")
    except ValueError as refusal:
        assert str(refusal) == "ingest: expected one of linear, validator; got fast"
    else:
        raise AssertionError("an unknown ingest must be refused")
