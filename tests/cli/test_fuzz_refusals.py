"""Generated bad input through the CLI entry points, on SQLite and PostgreSQL (issue 13).

For events, policy files, staff CSVs and import lines: never a traceback on stderr, never a
partial write (the database is unchanged after every refusal), every refusal one line. The
number of examples is bounded so the whole file runs in CI in well under a minute.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from tests.cli.cli_harness import (
    REPO,
    assert_failed_cleanly,
    assert_no_traceback,
    cin,
    point_at,
    snapshot,
    write_lines,
)

EXAMPLES = settings(
    max_examples=10,
    deadline=None,
    derandomize=True,  # the same examples on every run: a CI failure can be replayed
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# text that has broken the CLI before: empty, blank, control codes, markup, very long
NASTY = st.sampled_from(
    [
        "",
        " ",
        "\t",
        "a\nb",
        "a\r\nb",
        "\x1b[31mred",
        "<img src=x onerror=alert(1)>|x",
        "=cmd|' /C calc'!A0",
        "x" * 100_000,
        "é" * 65,
        "-1",
        "20250106",
        "2025-W02-1",
        "2025-02-30",
        "99999999999999999999",
        "\u202e",
        "*a",
    ]
)
TEXT = st.one_of(NASTY, st.text(max_size=80))
SCALAR = st.one_of(
    TEXT, st.integers(min_value=-(10**20), max_value=10**20), st.none(), st.booleans()
)


@pytest.fixture
def world(
    engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    point_at(monkeypatch, db_url, tmp_path)
    return {"engine": engine, "tmp": tmp_path}


def refused_cleanly(world: dict[str, Any], capsys: pytest.CaptureFixture[str], *argv: str,
                    single: bool = False) -> bool:  # fmt: skip
    """Run `cin argv`; if it refused, check the refusal and that nothing was written."""
    before = snapshot(world["engine"])
    done = cin(capsys, *argv)
    assert_no_traceback(done)
    if done.status != 0:
        assert_failed_cleanly(done, single=single)
        assert snapshot(world["engine"]) == before, "a refusal wrote to the database"
    return done.status != 0


@EXAMPLES
@given(child=TEXT, team=st.one_of(st.none(), TEXT), key=st.one_of(st.none(), TEXT), day=TEXT)
def test_referrals(world, capsys, child: str, team: str | None, key: str | None, day: str):
    argv = ["case", "refer", "--authority", "redbridge", f"--child={child}", f"--date={day}"]
    argv += [f"--team={team}"] if team is not None else []
    argv += [f"--key={key}"] if key is not None else []
    refused_cleanly(world, capsys, *argv, single=True)


@EXAMPLES
@given(
    case=TEXT,
    event=st.sampled_from(["referral_decision", "visit_recorded", "case_closed", "review_held"]),
    outcome=st.one_of(st.none(), TEXT),
    day=st.one_of(TEXT, st.just("2025-06-01")),
    key=st.one_of(st.none(), TEXT),
)
def test_events(world, capsys, case, event, outcome, day, key):
    argv = ["case", "record", f"--date={day}"]
    argv += [f"--outcome={outcome}"] if outcome is not None else []
    argv += [f"--key={key}"] if key is not None else []
    argv += ["--", case, event]
    refused_cleanly(world, capsys, *argv, single=True)


@EXAMPLES
@given(
    record=st.dictionaries(
        st.sampled_from(
            [
                "case",
                "authority",
                "child",
                "team",
                "key",
                "type",
                "on",
                "outcome",
                "source",
                "reason",
                "visit_frequency",
                "primary_need",
            ]
        ),  # fmt: skip
        SCALAR,
        max_size=8,
    ),
    raw=st.one_of(st.none(), TEXT),
)
def test_import_lines(world, capsys, record: dict[str, Any], raw: str | None):
    line = raw.replace("\n", " ").replace("\r", " ") if raw is not None else json.dumps(record)
    path = write_lines(world["tmp"] / "in.jsonl", [line or "{}"])
    refused_cleanly(world, capsys, "import", str(path), "--no-deliver", "--no-progress",
                    single=True)  # fmt: skip


POLICY = yaml.safe_load((REPO / "policies" / "redbridge.yaml").read_text(encoding="utf-8"))
POLICY_FIELDS = [
    ("name",),
    ("case_prefix",),
    ("nation",),
    ("versions", 0, "effective_from"),
    ("versions", 0, "effective_to"),
    ("versions", 0, "source"),
    ("versions", 0, "timescales", "review", "amount"),
    ("versions", 0, "timescales", "review", "unit"),
    ("versions", 0, "timescales", "first_review", "counts_from"),
    ("versions", 0, "closure_days", "annual"),
]


@EXAMPLES
@given(field=st.sampled_from(POLICY_FIELDS), value=SCALAR, raw=st.one_of(st.none(), TEXT))
def test_policy_files(world, capsys, field, value, raw: str | None):
    data = json.loads(json.dumps(POLICY, default=str))
    target: Any = data
    for part in field[:-1]:
        target = target[part]
    target[field[-1]] = value
    path = world["tmp"] / "redbridge.yaml"
    if raw is not None:
        path.write_text(raw, encoding="utf-8", errors="surrogatepass")
    else:
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    refused_cleanly(world, capsys, "policy", "validate", "--no-cases", str(path))


STAFF_HEADER = "staff_id,name,email,role,team,manager_id"
GOOD_ROWS = [
    "HS1,Hana Head,hs1@redbridge.example,head_of_service,,",
    "SM1,Sam Service,sm1@redbridge.example,service_manager,,HS1",
    "TM1,Tara Team,tm1@redbridge.example,team_manager,east,SM1",
]


@EXAMPLES
@given(cells=st.lists(TEXT, min_size=6, max_size=6), row=st.integers(0, 2))
def test_staff_files(world, capsys, cells: list[str], row: int):
    quoted = ",".join('"' + cell.replace('"', '""') + '"' for cell in cells)
    rows = list(GOOD_ROWS)
    rows[row] = quoted
    path = world["tmp"] / "staff.csv"
    path.write_text("\n".join([STAFF_HEADER, *rows]) + "\n", encoding="utf-8")
    refused_cleanly(world, capsys, "staff", "import", str(path), "--authority", "redbridge")
    listing = cin(capsys, "staff", "list", "--authority", "redbridge")
    assert listing.status == 0, listing.err
    for line in listing.out.splitlines():  # one person a line, nothing a spreadsheet would run
        assert not any(ch in line for ch in "\r\x1b"), line
        assert not line.startswith(("=", "+", "-", "@")), line
