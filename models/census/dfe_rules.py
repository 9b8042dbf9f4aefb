"""Run the DfE's CIN census validation rules on a return (csc-validator-be-cin).

The rules need numpy < 2, so they live in a venv of their own (`make .venv-census`, pinned in
census-requirements.txt). `run_dfe_rules` runs this same file there as a script; the script part
imports only the standard library and `cin_validator` (with its pandas), and prints one JSON
object per failure: rule code, Error or Query, message, table, column, row and the child's place
(LAchildID is read back only to keep rows apart, and never printed by the engine).

The validator reads an XML return (`ingress.XMLtoCSV`) by concatenating a one-row DataFrame to
each whole table for every child and block: each child copies every table read so far, so the
time per child grows with the children (bench/census_bench.py on a loaded machine: its reading
took 33 s for 1,000 children, 229 s for 5,000; an estimated half hour for 20,000).
`linear_tables` builds the very same tables in one pass (5.5 s for 20,000 children on the same
machine), and `_main` hands them to the validator's own rule runner (`CinValidator`): the DfE's
rules as the validator implements them, on the same input.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RULESETS = {2026: "cin2025_26"}  # collection year -> the validator's ruleset
INGESTS = ("linear", "validator")


@dataclass(frozen=True, slots=True)
class RuleFailure:
    code: str
    level: str  # "Error" or "Query"
    message: str
    table: str | None  # None: a failure of the whole return
    column: str | None
    row: int | None


def run_dfe_rules(
    path: Path,
    *,
    year: int,
    python: Path,
    ingest: str = "linear",
    timings: dict[str, float] | None = None,
) -> list[RuleFailure]:
    """The DfE rules' failures on the return at `path`, run by `python` (the census venv's,
    `Settings.census_python`); raises if they cannot be run.

    `ingest`: "linear" reads the return into the validator's tables in one pass (`linear_tables`);
    "validator" lets the validator read it itself (`validator_tables`: hours for a large council,
    kept for the benchmark and the equivalence test). The rules run the same either way.
    `timings`, if given, receives the seconds the census venv spent reading the return ("read")
    and running the rules ("rules")."""
    if ingest not in INGESTS:
        raise ValueError(f"ingest: expected one of {', '.join(INGESTS)}; got {ingest}")
    ruleset = RULESETS.get(year)
    if ruleset is None:
        raise ValueError(f"--year: the DfE rules are here for {', '.join(map(str, RULESETS))}")
    if not python.exists():
        raise ValueError(f"the DfE rules' venv is missing ({python}): run `make .venv-census`")
    done = subprocess.run(
        [str(python), __file__, str(path), ruleset, ingest],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise ValueError(f"the DfE rules failed to run: {last}")
    failures = []
    for line in done.stdout.splitlines():
        if line.startswith("{"):
            item: dict[str, Any] = json.loads(line)
            if "timing" in item:
                if timings is not None:
                    timings.update(item["timing"])
                continue
            failures.append(RuleFailure(**item))
    return failures


def _main(path: str, ruleset: str, ingest: str) -> None:  # pragma: no cover - census venv
    import contextlib
    import importlib
    import io
    import time

    from cin_validator import cin_validator

    registry = importlib.import_module(f"cin_validator.rules.{ruleset}").registry
    started = time.perf_counter()
    tables = linear_tables(path) if ingest == "linear" else validator_tables(path)
    data = cin_validator.process_data(tables)
    read = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):  # rules print their own crashes
        validator = cin_validator.CinValidator(data, registry)
    timing = {"read": read - started, "rules": time.perf_counter() - read}
    sys.stdout.write(json.dumps({"timing": timing}) + "\n")
    levels = {str(rule.code): rule.rule_type.value for rule in registry.values()}
    messages = {str(rule.code): rule.message for rule in registry.values()}
    for item in validator.full_issue_df.to_dict("records"):
        code = str(item["rule_code"])
        row = item.get("row_id")
        _emit(
            code, levels, messages, item.get("tables_affected"), item.get("columns_affected"), row
        )
    for item in validator.multichild_issues.to_dict("records"):
        _emit(str(item["rule_code"]), levels, messages, None, None, None)


def validator_tables(path: str) -> dict[str, Any]:  # pragma: no cover - census venv
    """The validator's own reading of the return (`cin_validator.convert_data`): one DataFrame
    concatenated per child and block, so each child copies every table read so far."""
    import xml.etree.ElementTree as ET

    from cin_validator import cin_validator

    tables: dict[str, Any] = cin_validator.convert_data(ET.parse(path).getroot())
    return tables


def linear_tables(path: str) -> dict[str, Any]:  # pragma: no cover - census venv
    """The same tables as `validator_tables`, read in one pass: each child is parsed, walked with
    the validator's own steps (`ingress.XMLtoCSV`, `utils.get_values`: same elements, same
    ElementTree look-ups, same numbering of CINdetailsID, AssessmentID and CPPID) into plain rows,
    then dropped; each table is built once at the end, on the validator's empty table so that its
    columns and their order are the validator's. tests/models/census/test_dfe_ingest.py shows the
    tables and the rule failures identical on the hand-built histories, planted mistakes and the
    demo caseload."""
    import xml.etree.ElementTree as ET

    import pandas as pd
    from cin_validator.ingress import XMLtoCSV

    reader = _Rows(XMLtoCSV)
    header = None
    for _, element in ET.iterparse(path, events=("end",)):
        if element.tag == "Header":
            header = XMLtoCSV.create_Header(None, element)  # uses no state of its own
        elif element.tag == "Child":
            reader.child(element)
            element.clear()
    tables: dict[str, Any] = {"Header": header}
    for name, rows in reader.rows.items():
        template = getattr(XMLtoCSV, name)
        if name in reader.touched:  # the validator concatenated to it at least once
            tables[name] = pd.concat([template, pd.DataFrame(rows)], ignore_index=True)
        else:  # its empty table, as it left it
            tables[name] = template.copy()
    return {name: tables[name] for name in _TABLE_ORDER}


_TABLE_ORDER = (
    "Header",
    "ChildIdentifiers",
    "ChildCharacteristics",
    "ChildProtectionPlans",
    "CINdetails",
    "CINplanDates",
    "Reviews",
    "Section47",
    "Assessments",
    "AssessmentFactorsList",
    "Disabilities",
)


class _Rows:  # pragma: no cover - census venv
    """`ingress.XMLtoCSV.create_child` and the steps it calls, step for step, appending each row
    to a list where the validator concatenates a one-child DataFrame to the whole table."""

    def __init__(self, reader: Any) -> None:
        ids = set(reader.id_cols)
        self.columns = {name: list(getattr(reader, name).columns) for name in _TABLE_ORDER}
        self.elements = {
            name: [c for c in columns if c not in ids] for name, columns in self.columns.items()
        }
        self.rows: dict[str, list[dict[str, Any]]] = {name: [] for name in _TABLE_ORDER[1:]}
        self.touched: set[str] = set()  # the tables the validator would have concatenated to
        self.child_id: Any = None
        self.cin_details_id = 0
        self.cpp_id = 0

    def _values(self, table: str, row: dict[str, Any], block: Any) -> dict[str, Any]:
        from cin_validator.utils import get_values

        values: dict[str, Any] = get_values(self.elements[table], row, block)
        return values

    def child(self, child: Any) -> None:
        from cin_validator.utils import get_values

        self.child_id = None
        identifiers = get_values(
            self.columns["ChildIdentifiers"], {}, child.find("ChildIdentifiers")
        )
        self.child_id = identifiers.get("LAchildID")
        self.rows["ChildIdentifiers"].append(identifiers)
        self.touched.update(("ChildIdentifiers", "ChildCharacteristics", "CINdetails"))
        characteristics = child.find("ChildCharacteristics")
        row = {"LAchildID": self.child_id}
        self.rows["ChildCharacteristics"].append(
            self._values("ChildCharacteristics", row, characteristics)
        )
        disabilities = characteristics.find("Disabilities")
        if disabilities is not None:
            self.touched.add("Disabilities")
            for disability in disabilities:
                row = self._values("Disabilities", {"LAchildID": self.child_id}, disability)
                row["Disability"] = disability.text
                self.rows["Disabilities"].append(row)
        self._cin_details(child)
        # the validator also looks for plans and reviews directly under the child (none in a
        # return the XSD accepts), with the ids it holds at that point
        self._plans(child)
        self._reviews(child)

    def _cin_details(self, child: Any) -> None:
        self.cin_details_id = 0
        for detail in child.findall("CINdetails"):
            self.cin_details_id += 1
            ids = {"LAchildID": self.child_id, "CINdetailsID": self.cin_details_id}
            self.rows["CINdetails"].append(self._values("CINdetails", dict(ids), detail))
            self._assessments(detail)
            self.touched.update(("CINplanDates", "Section47"))
            for dates in detail.findall("CINPlanDates"):
                self.rows["CINplanDates"].append(self._values("CINplanDates", dict(ids), dates))
            for s47 in detail.findall("Section47"):
                self.rows["Section47"].append(self._values("Section47", dict(ids), s47))
            self._plans(detail)

    def _assessments(self, detail: Any) -> None:
        self.touched.add("Assessments")
        assessment_id = 0
        for assessment in detail.findall("Assessments"):
            assessment_id += 1
            ids = {
                "LAchildID": self.child_id,
                "CINdetailsID": self.cin_details_id,
                "AssessmentID": assessment_id,
            }
            row = self._values("Assessments", dict(ids), assessment)
            factors = assessment.find("FactorsIdentifiedAtAssessment")
            if factors is not None and len(factors) != 0:
                self.touched.add("AssessmentFactorsList")
                found = []
                for factor in factors:
                    listed = self._values("AssessmentFactorsList", dict(ids), factor)
                    listed["AssessmentFactor"] = factor.text
                    self.rows["AssessmentFactorsList"].append(listed)
                    found.append(factor.text)
                row["AssessmentFactors"] = found
            self.rows["Assessments"].append(row)

    def _plans(self, block: Any) -> None:
        self.touched.add("ChildProtectionPlans")
        self.cpp_id = 0
        for plan in block.findall("ChildProtectionPlans"):
            self.cpp_id += 1
            ids = {
                "LAchildID": self.child_id,
                "CINdetailsID": self.cin_details_id,
                "CPPID": self.cpp_id,
            }
            self.rows["ChildProtectionPlans"].append(
                self._values("ChildProtectionPlans", ids, plan)
            )
            self._reviews(plan)

    def _reviews(self, plan: Any) -> None:
        self.touched.add("Reviews")
        for review in plan.findall("Reviews[CPPreviewDate]"):
            ids = {
                "LAchildID": self.child_id,
                "CINdetailsID": self.cin_details_id,
                "CPPID": self.cpp_id,
            }
            self.rows["Reviews"].append(self._values("Reviews", ids, review))


def _emit(
    code: str, levels: dict[str, str], messages: dict[str, str], table: Any, column: Any, row: Any
) -> None:  # pragma: no cover
    def text(value: Any) -> str | None:
        return value if isinstance(value, str) and value else None

    sys.stdout.write(
        json.dumps(
            {
                "code": code,
                "level": levels.get(code, "Error"),
                "message": str(messages.get(code, "")),
                "table": text(table),
                "column": text(column),
                "row": int(row) if row is not None and str(row).isdigit() else None,
            }
        )
        + "\n"
    )


if __name__ == "__main__":  # pragma: no cover
    _main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "linear")
