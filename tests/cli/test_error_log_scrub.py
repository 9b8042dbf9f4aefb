"""The administrator's error log holds no child's detail, whatever the path (issue 26, point 4):
the header line never records a value from the command line, a database that cannot be reached
or a trigger that quotes the value leaves only `<child>` in the body, and no option may be
abbreviated (argparse's `--chil` for `--child`)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from cli.main import build_parser
from tests.cli.cli_harness import cin, point_at

CHILD = "SENTINELLOG26"
DOB = "2014-02-03"
UPN = "A123456789012"
FORMER = "B987654321098"


def _log(data_dir: Path) -> str:
    return (data_dir / "logs" / "cin-errors.log").read_text(encoding="utf-8")


def _no_detail(text_: str) -> None:
    for value in (CHILD, DOB, UPN, FORMER, "2014, 2, 3"):
        assert value not in text_, value


def test_an_unreachable_database_logs_no_detail_of_the_child(tmp_path, monkeypatch, capsys):
    point_at(monkeypatch, "postgresql+psycopg://postgres@127.0.0.1:9/cin26_none", tmp_path)
    done = cin(
        capsys, "child", "set", CHILD, "--authority", "redbridge", f"--dob={DOB}",
        "--sex", "F", "--ethnicity", "WBRI", "--upn", UPN, "--former-upn", FORMER,
    )  # fmt: skip
    assert done.status == 3, done.err
    log = _log(tmp_path)
    header = next(line for line in log.splitlines() if line.startswith("--- "))
    assert "cin child set <value> --authority <value> --dob=<value>" in header, header
    assert "Traceback" in log
    _no_detail(log + done.err + done.out)


def _quoting_trigger(engine: Engine) -> None:
    """A trigger whose error quotes the refused value, as a council's DBA might write one."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":  # SQLite's RAISE takes a literal message only
            conn.execute(text(
                'CREATE TRIGGER refuse_all BEFORE INSERT ON "case" '
                "BEGIN SELECT RAISE(ABORT, 'refused by trigger'); END"
            ))  # fmt: skip
            return
        conn.execute(text(
            "CREATE FUNCTION refuse_all() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'refused child % (%)', NEW.child_ref, upper(NEW.child_ref); "
            "END $$ LANGUAGE plpgsql"
        ))  # fmt: skip
        conn.execute(text(
            'CREATE TRIGGER refuse_all BEFORE INSERT ON "case" '
            "FOR EACH ROW EXECUTE FUNCTION refuse_all()"
        ))  # fmt: skip


def test_a_trigger_quoting_the_value_is_scrubbed_from_case_refer(
    engine: Engine, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    point_at(monkeypatch, db_url, tmp_path)
    _quoting_trigger(engine)
    done = cin(capsys, "case", "refer", "--authority", "redbridge",
               f"--child={CHILD.lower()}", "--date", "2025-05-01")  # fmt: skip
    assert done.status in (1, 4), done.err
    _no_detail(done.err + done.out)
    assert CHILD.lower() not in done.err + done.out
    log_file = tmp_path / "logs" / "cin-errors.log"
    if log_file.exists():  # a refusal (exit 1) writes no log; a fault does
        log = log_file.read_text(encoding="utf-8")
        _no_detail(log)
        assert CHILD.lower() not in log
        if engine.dialect.name == "postgresql":
            assert "refused child <child> (<child>)" in log, log[-1500:]


def _parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                found += _parsers(sub)
    return found


def test_no_parser_accepts_an_abbreviated_option(tmp_path, monkeypatch, capsys):
    parsers = _parsers(build_parser())
    assert len(parsers) > 20
    assert [p.prog for p in parsers if p.allow_abbrev] == []
    point_at(monkeypatch, "postgresql+psycopg://postgres@127.0.0.1:9/cin26_none", tmp_path)
    done = cin(capsys, "case", "refer", "--authority", "redbridge", "--chil", CHILD,
               "--date", "2025-05-01")  # fmt: skip
    assert done.status == 2
    assert "--chil" in done.err and CHILD not in done.err  # the value is not echoed either
    assert not (tmp_path / "logs").exists()
