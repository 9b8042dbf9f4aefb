"""`cin census check`: export the year's return privately, validate it against the XSD, run the
DfE's rules on it, and trace every failure back to its case and the event to correct."""

from __future__ import annotations

import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from lxml import etree
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from models.census.dfe_rules import RuleFailure, run_dfe_rules
from models.census.export import export_return
from models.census.own_rules import own_rule_failures
from models.census.rowmap import RowMap, focus_column
from models.census.year import CensusYear
from models.policy.book import PolicyBook
from models.tables import Case, CaseEvent

XSD = Path(__file__).resolve().parent / "CIN_schema_2026.xsd"
_QUOTED_VALUE = re.compile(r"value '[^']*'")
_BATCH = 500  # case references a query when naming the events to correct


@dataclass(frozen=True, slots=True)
class Finding:
    case_ref: str | None  # None: the return as a whole
    code: str  # the DfE rule number, "XSD", or "missing" (data the return needs)
    level: str  # Error / Query
    field: str
    message: str
    correct: str  # what to correct: "event 4 (assessment_completed)", the child's details, ...


@dataclass
class CheckReport:
    children: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.level == "Error")

    def by_rule(self) -> list[tuple[str, str, int, str]]:
        counts = Counter((f.code, f.level) for f in self.findings)
        messages = {f.code: f.message for f in self.findings}
        return [(code, level, n, messages[code]) for (code, level), n in sorted(counts.items())]


def xsd_problems(path: Path) -> list[str]:
    """The XSD's complaints, by line; a value it quotes is withheld (it may be personal data)."""
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    if schema.validate(etree.parse(str(path))):
        return []
    withheld = "value (withheld)"
    return [f"line {e.line}: {_QUOTED_VALUE.sub(withheld, e.message)}" for e in schema.error_log]


def check_return(
    engine: Engine,
    *,
    policies: PolicyBook,
    authority: str,
    year: CensusYear,
    produced_at: datetime,
    census_python: Path,
) -> CheckReport:
    rows = RowMap()
    report = CheckReport()
    with tempfile.TemporaryDirectory(prefix="cin-census-") as folder:
        path = Path(folder) / "return.xml"
        exported = export_return(
            engine,
            policies=policies,
            authority=authority,
            year=year,
            out=path,
            produced_at=produced_at,
            rows=rows,
        )
        report.children = exported.children
        for omitted in exported.omitted:
            report.findings.append(
                Finding(
                    omitted.case_ref,
                    "missing",
                    "Error",
                    "-",
                    "left out of the return: data it requires is not recorded",
                    omitted.reason,
                )
            )
        for problem in xsd_problems(path):
            report.findings.append(Finding(None, "XSD", "Error", "-", problem, "-"))
        if exported.children == 0:  # nothing for the DfE's rules to read
            report.findings.append(
                Finding(None, "empty", "Error", "Children", "no child in the return", "-")
            )
            return report
        failures = run_dfe_rules(path, year=year.year, python=census_python)
        seen = {(f.code, f.table, f.column, f.row) for f in failures}
        failures += [
            f for f in own_rule_failures(path) if (f.code, f.table, f.column, f.row) not in seen
        ]
    report.findings.extend(_traced(engine, failures, rows))
    return report


def _traced(engine: Engine, failures: list[RuleFailure], rows: RowMap) -> list[Finding]:
    located = []
    for failure in failures:
        source = (
            rows.source(failure.table, failure.row)
            if failure.table is not None and failure.row is not None
            else None
        )
        column = focus_column(failure.code, failure.table or "", failure.column or "-")
        if source is None:
            located.append(Finding(None, failure.code, failure.level, column, failure.message, "-"))
            continue
        correct = source.what_to_correct(column)
        located.append(
            Finding(
                source.case_ref,
                failure.code,
                failure.level,
                f"{failure.table}.{column}",
                failure.message,
                correct,
            )
        )
    return _named_events(engine, located)


def _named_events(engine: Engine, findings: list[Finding]) -> list[Finding]:
    """'event 4' -> 'event 4 (assessment_completed)', read from the log."""
    wanted = {
        (f.case_ref, int(f.correct.split()[1]))
        for f in findings
        if f.case_ref and f.correct.startswith("event ")
    }
    names: dict[tuple[str, int], str] = {}
    refs = sorted({ref for ref, _ in wanted})
    with Session(engine) as session:
        # a batch of cases a query, not one query a case: a large council's return can carry a
        # finding on thousands of cases (one round trip each took most of the check's time)
        for start in range(0, len(refs), _BATCH):
            stmt = (
                select(col(Case.case_ref), col(CaseEvent.seq), col(CaseEvent.event_type))
                .join(Case, col(Case.id) == col(CaseEvent.case_id))
                .where(col(Case.case_ref).in_(refs[start : start + _BATCH]))
            )
            for case_ref, seq, event_type in session.execute(stmt):
                if (case_ref, seq) in wanted:
                    names[(case_ref, seq)] = event_type
    named = []
    for f in findings:
        if f.case_ref and f.correct.startswith("event "):
            seq = int(f.correct.split()[1])
            kind = names.get((f.case_ref, seq))
            if kind:
                f = Finding(
                    f.case_ref, f.code, f.level, f.field, f.message, f"event {seq} ({kind})"
                )
        named.append(f)
    return named
