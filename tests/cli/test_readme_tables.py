"""The exit-code and limits tables of docs/operating.md (linked from the README) say what the
code does."""

from __future__ import annotations

import re

from calendars import Unit
from cli import errors
from cli.common import MAX_JOBS, MAX_WHOLE_NUMBER
from models import fields
from models.access.holds import REASON as HOLD_REASON
from models.policy.loading import MAX_POLICY_BYTES
from models.policy.parts import MAX_AMOUNT
from models.policy.retention import RetentionRule
from models.staff.roster import MAX_EMAIL
from tests.cli.cli_harness import REPO

OPERATING = (REPO / "docs" / "operating.md").read_text(encoding="utf-8")


def _table_after(heading: str) -> list[list[str]]:
    section = OPERATING[OPERATING.index(heading) :]
    rows = []
    started = False
    for line in section.splitlines():
        if line.startswith("|"):
            started = True
            cells = [c.strip() for c in line.strip("|").split("|")]
            if not set("".join(cells)) <= set("-: "):
                rows.append(cells)
        elif started:
            break
    return rows[1:]  # without the header


def _limits() -> dict[str, list[str]]:
    heading = "Every free-text field has a limit"
    return {row[0]: row for row in _table_after(heading)}


def test_the_exit_code_table_matches_cli_errors() -> None:
    codes = {int(row[0]): row[1] for row in _table_after("The exit status means one thing")}
    assert set(codes) == {0, errors.REFUSED, errors.USAGE, errors.ENVIRONMENT, errors.FAULT}
    assert codes[errors.REFUSED].startswith("refused input")
    assert codes[errors.USAGE] == "usage"
    assert codes[errors.ENVIRONMENT].startswith("environment")
    assert codes[errors.FAULT].startswith("an internal fault")


def test_the_limits_table_matches_the_field_rules() -> None:
    limits = _limits()
    for rule in fields.RULES:
        row = limits[f"`{rule.name}`"]
        assert int(row[2]) == rule.max_length, rule.name
        assert row[3] == rule.charset, rule.name
    assert int(limits["staff `email`"][2]) == MAX_EMAIL
    assert int(limits["policy text"][2]) == fields.POLICY_TEXT_MAX
    assert limits["policy file"][2] == f"{MAX_POLICY_BYTES} bytes"
    amounts = limits["timescale `amount`"][2]
    assert amounts == ", ".join(f"{MAX_AMOUNT[u]} {u.value}" for u in Unit)
    assert int(limits["`N`, batch `n`"][2]) == MAX_WHOLE_NUMBER
    assert int(limits["`--jobs`"][2]) == MAX_JOBS
    assert int(limits["hold `--reason`"][2]) == HOLD_REASON.max_length
    years = RetentionRule.model_fields["years"].metadata
    assert int(limits["retention `years`"][2]) == next(m.le for m in years if hasattr(m, "le"))


def test_every_limit_in_the_table_is_enforced_with_one_message() -> None:
    for rule in fields.RULES:
        ok = "A" * rule.max_length
        assert rule.check(ok) == ok
        try:
            rule.check("A" * (rule.max_length + 1))
        except fields.FieldRefused as refused:
            message = str(refused)
        else:
            raise AssertionError(f"{rule.name} took {rule.max_length + 1} characters")
        assert message == (
            f"{rule.name}: expected 1 to {rule.max_length} characters ({rule.charset}); "
            f"got {rule.max_length + 1} characters"
        )
        assert "\n" not in message
    assert re.search(r"got a character outside", _child_message("C1\n"))


def _child_message(value: str) -> str:
    try:
        fields.check_child_ref(value)
    except fields.FieldRefused as refused:
        return str(refused)
    raise AssertionError("accepted")
