"""Impossible child details are refused when they are set (issue 26, point 6), from `cin child
set` and from an import line's `child` object alike, on SQLite and PostgreSQL: the refusal names
the field, never echoes the value, and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from models.census.child import upn_check_letter
from tests.cli.cli_harness import assert_failed_cleanly, cin, point_at, snapshot, write_lines

BODY = "20105001012"  # characters 2-12; the 13th below
UPN = upn_check_letter("X" + BODY + "7") + BODY + "7"
TODAY = "2025-06-02"  # point_at's CIN_TODAY

# (what is wrong, the options, the field named, the value that must not be echoed)
IMPOSSIBLE = [
    ("born after today", ["--dob", "2025-06-03"], "birth_date", "2025-06-03"),
    ("born in 2099", ["--dob", "2099-01-01"], "birth_date", "2099-01-01"),
    ("died before birth", ["--dob", "2015-03-04", "--died", "2014-01-02"], "death_date",
     "2014-01-02"),
    ("died after today", ["--dob", "2015-03-04", "--died", "2030-01-02"], "death_date",
     "2030-01-02"),
    ("expected in the past", ["--expected-dob", "2025-05-30"], "expected_birth_date",
     "2025-05-30"),
    ("lower-case UPN", ["--dob", "2015-03-04", "--upn", UPN.lower()], "upn", UPN.lower()),
    ("no such day", ["--dob", "2014-02-30"], "--dob", "2014-02-30"),
]  # fmt: skip
IMPORT_NAMES = {"--dob": "dob", "--died": "died", "--expected-dob": "expected_dob", "--upn": "upn"}


@pytest.fixture
def world(engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    point_at(monkeypatch, db_url, tmp_path)
    return {"engine": engine, "tmp": tmp_path}


def _argv(options: list[str]) -> list[str]:
    sex = "U" if "--expected-dob" in options else "F"
    argv = ["child", "set", "C26", "--authority", "redbridge", "--sex", sex,
            "--ethnicity", "WBRI", *options]  # fmt: skip
    return argv if "--upn" in options else [*argv, "--upn", UPN]


@pytest.mark.parametrize(
    ("why", "options", "field", "value"), IMPOSSIBLE, ids=[i[0] for i in IMPOSSIBLE]
)
def test_cin_child_set_refuses_impossible_details(world, capsys, why, options, field, value):
    before = snapshot(world["engine"])
    done = cin(capsys, *_argv(options))
    assert_failed_cleanly(done, single=True)
    assert field in done.err, done.err
    assert value not in done.err + done.out
    assert snapshot(world["engine"]) == before


@pytest.mark.parametrize(("why", "options", "field", "value"), IMPOSSIBLE[:-1],
                         ids=[i[0] for i in IMPOSSIBLE[:-1]])  # fmt: skip
def test_an_import_line_refuses_impossible_details(world, capsys, why, options, field, value):
    child = {"ref": "C26", "sex": "U" if "--expected-dob" in options else "F",
             "ethnicity": "WBRI", "upn": UPN}  # fmt: skip
    for option, given in zip(options[::2], options[1::2], strict=True):
        child[IMPORT_NAMES[option]] = given
    path = write_lines(world["tmp"] / "child.jsonl", [json.dumps(
        {"authority": "redbridge", "child": child, "key": "k1"})])  # fmt: skip
    before = snapshot(world["engine"])
    done = cin(capsys, "import", str(path), "--no-deliver", "--no-progress")
    assert done.status == 1, done.err
    assert field in done.err and value not in done.err + done.out, done.err
    assert snapshot(world["engine"]) == before


def test_possible_details_are_taken(world, capsys):
    done = cin(capsys, *_argv(["--dob", TODAY, "--died", TODAY]))
    assert done.status == 0, done.err
    done = cin(capsys, *_argv(["--expected-dob", TODAY]))
    assert done.status == 0, done.err
