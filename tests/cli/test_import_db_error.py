"""`cin import` when the database refuses one line: that line is reported, the rest imported.

The database error is real: a trigger that refuses one child's case, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, col, func, select

from models.tables import Case, CaseEvent
from tests.cli.cli_harness import cin, point_at, write_lines

REFUSED_CHILD = "SENTINELDB4"


def refuse_child_in_trigger(engine: Engine, child: str) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(
                text(
                    'CREATE TRIGGER refuse_one BEFORE INSERT ON "case" '
                    f"WHEN NEW.child_ref = '{child}' "
                    "BEGIN SELECT RAISE(ABORT, 'refused by trigger'); END"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE FUNCTION refuse_one() RETURNS trigger AS $$ BEGIN "
                    f"IF NEW.child_ref = '{child}' THEN RAISE EXCEPTION 'refused by trigger'; "
                    "END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                text(
                    'CREATE TRIGGER refuse_one BEFORE INSERT ON "case" '
                    "FOR EACH ROW EXECUTE FUNCTION refuse_one()"
                )
            )


def referral_lines(children: Iterable[str]) -> list[dict[str, str]]:
    """One Redbridge referral import line for each child."""
    return [
        {
            "authority": "redbridge",
            "child": child,
            "type": "referral_received",
            "on": "2025-01-06",
            "source": "2A",
        }
        for child in children
    ]


def test_a_database_error_on_line_4_of_7_refuses_line_4_alone(
    engine: Engine,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    point_at(monkeypatch, db_url, tmp_path)
    refuse_child_in_trigger(engine, REFUSED_CHILD)
    children = ["C1", "C2", "C3", REFUSED_CHILD, "C5", "C6", "C7"]
    lines = referral_lines(children)
    path = write_lines(tmp_path / "seven.jsonl", lines)

    done = cin(capsys, "import", str(path), "--no-deliver", "--no-progress")

    assert done.status == 1
    assert "Traceback" not in done.err
    [refusal] = done.err.splitlines()
    assert refusal.startswith("line 4: the case database refused this line")
    assert "imported 7 lines: 6 accepted, 0 duplicates, 1 refused" in done.out
    with Session(engine) as session:
        stored = sorted(session.exec(select(col(Case.child_ref))))
        events = session.exec(select(func.count(col(CaseEvent.id)))).one()
    assert stored == sorted(c for c in children if c != REFUSED_CHILD)
    assert events == 6
    # the administrator's log has the traceback, without the child's reference
    log = (tmp_path / "logs" / "cin-errors.log").read_text(encoding="utf-8")
    assert "refused by trigger" in log and "Traceback" in log
    assert REFUSED_CHILD not in log + done.err + done.out
