"""A child's record (issue 24): every read outside the API is logged, `cin child export` holds
every table's rows about the child and nothing of another child, legal holds."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, SQLModel, select

from models.access.record import LINKS, NOT_ABOUT_A_CHILD, unclassified
from models.database import get_engine
from models.tables import AuditEntry
from tests.cli.cli_harness import Outcome, assert_failed_cleanly, cin, point_at, snapshot

DOB = {"C1": "2011-04-23", "C2": "2012-09-30"}


def refer(capsys: pytest.CaptureFixture[str], child: str, on: str) -> str:
    done = cin(capsys, "case", "refer", "--authority", "redbridge", "--child", child, "--date", on)
    assert done.status == 0, done.err
    return done.out.splitlines()[-1]


def record(capsys: pytest.CaptureFixture[str], case: str, event: str, on: str, *more: str) -> None:
    done = cin(capsys, "case", "record", case, event, "--date", on, *more)
    assert done.status == 0, done.err


def set_child(capsys: pytest.CaptureFixture[str], child: str) -> None:
    done = cin(
        capsys, "child", "set", child, "--authority", "redbridge", "--dob", DOB[child],
        "--sex", "F", "--ethnicity", "WBRI", "--upn-unknown", "UN1",
    )  # fmt: skip
    assert done.status == 0, done.err


def two_children(capsys: pytest.CaptureFixture[str]) -> dict[str, list[str]]:
    """C1: two cases (the first closed with no further action), C2: one; both overdue for
    their referral decisions, so the monitor raises alerts about every case."""
    set_child(capsys, "C1")
    set_child(capsys, "C2")
    first = refer(capsys, "C1", "2025-04-01")
    record(capsys, first, "referral_decision", "2025-04-10", "--outcome", "nfa")
    second = refer(capsys, "C1", "2025-05-01")
    other = refer(capsys, "C2", "2025-05-01")
    done = cin(capsys, "monitor", "run", "--without-prefect", "--as-of", "2025-05-20")
    assert done.status in (0, 1), done.err
    return {"C1": [first, second], "C2": [other]}


def export(capsys: pytest.CaptureFixture[str], out: Path, child: str = "C1") -> Outcome:
    return cin(
        capsys, "child", "export", "--authority", "redbridge", "--child", child, "--out", str(out)
    )


def rows_about(engine: Any, cases: list[str], child: str) -> dict[str, set[str]]:
    """Independently of the export: the primary keys of every row of every table that names
    the child, one of its cases, or (alerts' messages) a message carrying one of its alerts."""
    found: dict[str, set[str]] = {}
    with Session(engine) as session:
        case_ids = {
            str(r[0])
            for r in session.execute(
                select(SQLModel.metadata.tables["case"].c.id).where(
                    SQLModel.metadata.tables["case"].c.case_ref.in_(cases)
                )
            )
        }
        for table in SQLModel.metadata.sorted_tables:
            keys: set[str] = set()
            for row in session.execute(select(table)).mappings():
                values = {str(v) for v in row.values() if v is not None}
                if child in values or values & set(cases) or values & case_ids:
                    keys.add(_key(table, row))
            found[table.name] = keys
        alerts = SQLModel.metadata.tables["alert"]
        found["dispatch"] = {
            str(r[0])
            for r in session.execute(
                select(alerts.c.dispatch_id).where(alerts.c.case_ref.in_(cases))
            )
            if r[0] is not None
        }
    return found


def _key(table: Any, row: Any) -> str:
    return "|".join(str(row[c.name]) for c in table.primary_key.columns)


def test_every_table_is_linked_to_a_child_or_says_why_not() -> None:
    assert unclassified() == []
    assert not set(LINKS) & set(NOT_ABOUT_A_CHILD)


def test_reads_are_logged_and_the_export_holds_every_row_of_the_child_and_no_other(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    point_at(monkeypatch, db_url, tmp_path)
    cases = two_children(capsys)
    for case in cases["C1"]:
        assert cin(capsys, "case", "show", case).status == 0
    assert cin(capsys, "case", "show", cases["C2"][0]).status == 0
    assert cin(capsys, "hold", "add", "--authority", "redbridge", "--child", "C1",
               "--reason", "inquiry 2025/7").status == 0  # fmt: skip
    engine = get_engine(db_url)

    audit = cin(capsys, "audit", "--child", "C1", "--authority", "redbridge")
    assert audit.status == 0, audit.err
    shown = [line for line in audit.out.splitlines() if "case show" in line]
    assert sorted(line.split()[-2] for line in shown) == sorted(cases["C1"])
    assert "2 access(es) to the child's record" in audit.out and "C1" not in audit.out
    assert cases["C2"][0] not in audit.out

    expected = rows_about(engine, cases["C1"], "C1")  # before the export's own access row
    out = tmp_path / "c1.json"
    done = export(capsys, out)
    assert done.status == 0, done.err
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    document = json.loads(out.read_text())
    assert expected["alert"] and expected["case_event"] and expected["deadline"]  # real data
    assert len(expected["case"]) == 2 and len(expected["audit_log"]) == 2
    for table in SQLModel.metadata.sorted_tables:
        exported = {
            "|".join(str(row[c.name]) for c in table.primary_key.columns)
            for row in document["tables"].get(table.name, [])
        }
        assert exported == expected[table.name], table.name
    # nothing of the other child: its reference, cases, date of birth
    text = out.read_text()
    assert "C2" not in text and DOB["C2"] not in text and cases["C2"][0] not in text
    assert DOB["C1"] in text
    # the readable part agrees with the rows
    readable = document["record"]
    assert [c["case"] for c in readable["cases"]] == cases["C1"]
    events = sum(len(c["events"]) for c in readable["cases"])
    assert events == len(document["tables"]["case_event"])
    assert all(e["recorded_by"].startswith("cli:") for c in readable["cases"] for e in c["events"])
    assert all(d["how_counted"] for c in readable["cases"] for d in c["deadlines"])
    assert sum(len(c["alerts"]) for c in readable["cases"]) == len(expected["alert"])
    assert all("body" not in a for a in document["tables"]["alert"])
    assert len(readable["accesses"]) == 2 and readable["legal_holds"][0]["reason"]

    # the export is itself an access; an HTML copy by suffix, the same cases
    html = tmp_path / "c1.html"
    assert export(capsys, html).status == 0
    page = html.read_text()
    assert page.startswith("<!doctype html>") and all(c in page for c in cases["C1"])
    assert "C2" not in page and DOB["C2"] not in page
    with Session(engine) as session:
        exports = session.exec(select(AuditEntry).where(AuditEntry.action == "child export")).all()
    assert len(exports) == 2 and {e.child_ref for e in exports} == {"C1"}


def test_export_refusals_write_nothing_and_name_no_child(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    point_at(monkeypatch, db_url, tmp_path)
    refer(capsys, "C9", "2025-05-01")
    engine = get_engine(db_url)
    before = snapshot(engine)
    unknown = export(capsys, tmp_path / "x.json", "NOBODY7")
    assert_failed_cleanly(unknown, single=True)
    assert "NOBODY7" not in unknown.err and not (tmp_path / "x.json").exists()
    (tmp_path / "there.json").write_text("{}")
    exists = export(capsys, tmp_path / "there.json", "C9")
    assert_failed_cleanly(exists, single=True)
    assert (tmp_path / "there.json").read_text() == "{}"
    (tmp_path / "link.json").symlink_to(tmp_path / "elsewhere.json")
    assert_failed_cleanly(export(capsys, tmp_path / "link.json", "C9"), single=True)
    assert not (tmp_path / "elsewhere.json").exists()
    assert snapshot(engine) == before  # no access row for a refused export


def test_holds_add_list_release(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    point_at(monkeypatch, db_url, tmp_path)
    added = cin(capsys, "hold", "add", "--authority", "redbridge", "--child", "C1",
                "--reason", "public inquiry")  # fmt: skip
    assert added.status == 0, added.err
    hold_id = added.out.split()[1]
    listed = cin(capsys, "hold", "list")
    assert hold_id in listed.out and "in force" in listed.out and "1 hold(s)" in listed.out
    assert cin(capsys, "hold", "release", hold_id).status == 0
    assert "0 hold(s)" in cin(capsys, "hold", "list").out
    assert "released" in cin(capsys, "hold", "list", "--all").out
    assert_failed_cleanly(cin(capsys, "hold", "release", hold_id), single=True)
    assert_failed_cleanly(cin(capsys, "hold", "release", "not-an-id"), single=True)
    bad = cin(capsys, "hold", "add", "--authority", "nowhere", "--child", "C1", "--reason", "x")
    assert_failed_cleanly(bad, single=True)
