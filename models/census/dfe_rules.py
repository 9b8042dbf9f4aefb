"""Run the DfE's CIN census validation rules on a return (csc-validator-be-cin).

The rules need numpy < 2, so they live in a venv of their own (`make .venv-census`, pinned in
census-requirements.txt). `run_dfe_rules` runs this same file there as a script; the script part
imports only the standard library and `cin_validator`, and prints one JSON object per failure:
rule code, Error or Query, message, table, column, row and the child's place (LAchildID is read
back only to keep rows apart, and never printed by the engine).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RULESETS = {2026: "cin2025_26"}  # collection year -> the validator's ruleset


@dataclass(frozen=True, slots=True)
class RuleFailure:
    code: str
    level: str  # "Error" or "Query"
    message: str
    table: str | None  # None: a failure of the whole return
    column: str | None
    row: int | None


def run_dfe_rules(path: Path, *, year: int, python: Path) -> list[RuleFailure]:
    """The DfE rules' failures on the return at `path`, run by `python` (the census venv's,
    `Settings.census_python`); raises if they cannot be run."""
    ruleset = RULESETS.get(year)
    if ruleset is None:
        raise ValueError(f"--year: the DfE rules are here for {', '.join(map(str, RULESETS))}")
    if not python.exists():
        raise ValueError(f"the DfE rules' venv is missing ({python}): run `make .venv-census`")
    done = subprocess.run(
        [str(python), __file__, str(path), ruleset],
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
            failures.append(RuleFailure(**item))
    return failures


def _main(path: str, ruleset: str) -> None:  # pragma: no cover - runs in the census venv
    import contextlib
    import importlib
    import io
    import xml.etree.ElementTree as ET

    from cin_validator import cin_validator

    registry = importlib.import_module(f"cin_validator.rules.{ruleset}").registry
    data = cin_validator.process_data(cin_validator.convert_data(ET.parse(path).getroot()))
    with contextlib.redirect_stdout(io.StringIO()):  # rules print their own crashes
        validator = cin_validator.CinValidator(data, registry)
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
    _main(sys.argv[1], sys.argv[2])
