"""Retention (issue 24): `cin retention plan|apply` on hand-built records either side of the
period, with and without a hold, on SQLite and PostgreSQL (no Prefect server: its part waits)."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel, select

from models.access.record import UnknownChild, child_record
from models.database import get_engine
from models.retention.destroy import child_hash
from models.tables import AuditEntry, DestructionLog
from tests.cli.cli_harness import Outcome, assert_failed_cleanly, cin, point_at

REPO = Path(__file__).resolve().parents[2]
SENTINEL_DOB = "2004-11-27"  # the destroyed child's date of birth: found nowhere afterwards
RULE = """retention:
  basis: last_closure
  years: 6
  source: "test council schedule s2: six years after the last case closes"
"""
# every child referred 2019-03-04; closed (no further action) on these days, or not at all
CLOSED = {"CDUE": "2019-03-11", "CLATER": "2019-03-12", "CHELD": "2019-03-11", "COPEN": None}
AS_OF = "2025-03-11"  # six years after 2019-03-11: C-DUE is due that day, C-LATER a day later


def policies_with_rule(tmp_path: Path) -> Path:
    folder = tmp_path / "policies"
    shutil.copytree(REPO / "policies", folder)
    path = folder / "redbridge.yaml"
    path.write_text(path.read_text().replace("retention: engine_default\n", RULE))
    return folder


def build(capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    cases = {}
    for n, child in enumerate(CLOSED):
        dob = SENTINEL_DOB if child == "CDUE" else f"2005-01-0{n + 1}"
        done = cin(
            capsys, "child", "set", child, "--authority", "redbridge", "--dob", dob,
            "--sex", "M", "--ethnicity", "WBRI", "--upn-unknown", "UN1",
        )  # fmt: skip
        assert done.status == 0, done.err
        refer = cin(capsys, "case", "refer", "--authority", "redbridge", "--child", child,
                    "--date", "2019-03-04")  # fmt: skip
        assert refer.status == 0, refer.err
        cases[child] = refer.out.splitlines()[-1]
    # the decisions are late on 2019-03-08: alerts about every case
    assert cin(capsys, "monitor", "run", "--without-prefect", "--as-of", "2019-03-08").status in (
        0,
        1,
    )
    for child, closed in CLOSED.items():
        if closed:
            done = cin(capsys, "case", "record", cases[child], "referral_decision",
                       "--date", closed, "--outcome", "nfa")  # fmt: skip
            assert done.status == 0, done.err
        assert cin(capsys, "case", "show", cases[child]).status == 0  # an access row
    held = cin(capsys, "hold", "add", "--authority", "redbridge", "--child", "CHELD",
               "--reason", "public inquiry")  # fmt: skip
    assert held.status == 0
    return cases


def record_of(engine: Engine, child: str) -> dict[str, list[dict[str, object]]]:
    with Session(engine) as session:
        return child_record(session, authority="redbridge", child_ref=child).tables


def everything(engine: Engine) -> str:
    """Every value of every row of every table, as text (PostgreSQL's files are not ours)."""
    with Session(engine) as session:
        return "\n".join(
            " ".join(str(value) for value in row)
            for table in SQLModel.metadata.sorted_tables
            for row in session.execute(select(table))
        )


def plan(capsys: pytest.CaptureFixture[str]) -> Outcome:
    return cin(capsys, "retention", "plan", "--authority", "redbridge", "--as-of", AS_OF)


def apply(capsys: pytest.CaptureFixture[str]) -> Outcome:
    return cin(capsys, "retention", "apply", "--authority", "redbridge", "--as-of", AS_OF)


def test_plan_and_apply_destroy_exactly_the_due_record(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    point_at(monkeypatch, db_url, tmp_path)
    monkeypatch.setenv("CIN_POLICY_DIR", str(policies_with_rule(tmp_path)))
    cases = build(capsys)
    engine = get_engine(db_url)

    planned = plan(capsys)
    assert planned.status == 0, planned.err
    lines = {line.split()[1]: line.split()[0] for line in planned.out.splitlines()[1:-1]}
    assert lines == {"CDUE": "due", "CLATER": "not-yet", "CHELD": "held", "COPEN": "open"}
    assert "6 years from the last case's closure (local: test council schedule s2" in planned.out
    assert "due 2025-03-12" in planned.out  # C-LATER: a day after the as-of date
    assert "1 due for destruction, 1 held, 1 open, 4 children" in planned.out

    kept = {child: record_of(engine, child) for child in ("CLATER", "CHELD", "COPEN")}
    due = record_of(engine, "CDUE")
    assert due["alert"] and due["deadline"] and due["audit_log"] and due["child"]
    assert SENTINEL_DOB in everything(engine)  # the check below can fail
    if db_url.startswith("sqlite"):
        assert SENTINEL_DOB.encode() in database_bytes(tmp_path)

    done = apply(capsys)
    # the database part is done; Prefect is down, so its part waits (exit 3, one line)
    assert done.status == 3, done.err
    assert "1 record(s) destroyed (1 case(s)), 1 held and kept" in done.out
    assert_failed_cleanly_env(done)
    with pytest.raises(UnknownChild):
        record_of(engine, "CDUE")
    for child, rows in kept.items():  # the others are untouched, row for row
        assert record_of(engine, child) == rows, child
    with Session(engine) as session:
        (log,) = session.exec(select(DestructionLog)).all()
        instance = str(
            session.execute(select(SQLModel.metadata.tables["engine_instance"].c.id)).scalar_one()
        )
        reads = session.exec(select(AuditEntry).where(AuditEntry.case_ref == cases["CDUE"])).all()
    assert log.child_hash == child_hash(uuid.UUID(instance).hex, "redbridge", "CDUE")
    assert (log.cases, log.due_on.isoformat(), log.as_of.isoformat()) == (1, AS_OF, AS_OF)
    assert log.prefect_pending == [{"case_ref": cases["CDUE"], "flow_run_id": ""}]
    assert "local: test council schedule s2" in log.rule
    assert reads and all(r.child_ref is None for r in reads)  # who looked stays, not whose
    text = everything(engine)
    assert SENTINEL_DOB not in text and "CDUE" not in text
    if db_url.startswith("sqlite"):
        assert SENTINEL_DOB.encode() not in database_bytes(tmp_path)
        assert b"CDUE" not in database_bytes(tmp_path)

    again = apply(capsys)  # nothing more is due; the Prefect part still waits
    assert again.status == 3 and "0 record(s) destroyed" in again.out
    with Session(engine) as session:
        assert len(session.exec(select(DestructionLog)).all()) == 1
    after = plan(capsys).out
    assert "CDUE" not in after and "0 due for destruction, 1 held, 1 open, 3 children" in after

    # released, the held record is due and goes on the next run
    hold_id = cin(capsys, "hold", "list").out.split()[0]
    assert cin(capsys, "hold", "release", hold_id).status == 0
    assert "1 record(s) destroyed" in apply(capsys).out
    with pytest.raises(UnknownChild):
        record_of(engine, "CHELD")


def test_the_engine_default_keeps_records_75_years_and_refusals(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    point_at(monkeypatch, db_url, tmp_path)
    build(capsys)
    planned = plan(capsys)
    assert planned.status == 0
    assert "75 years from the child's date of birth (engine default: no seed sets" in planned.out
    assert "0 due for destruction" in planned.out and "due 2079-11-27" in planned.out
    assert "0 record(s) destroyed" in apply(capsys).out
    bad = cin(capsys, "retention", "plan", "--authority", "nowhere", "--as-of", AS_OF)
    assert_failed_cleanly(bad, single=True)
    usage = cin(capsys, "retention", "apply", "--authority", "redbridge", "--as-of", "2025-13-01")
    assert usage.status == 2
    ahead = cin(capsys, "retention", "apply", "--authority", "redbridge", "--as-of", "2100-01-01")
    assert_failed_cleanly(ahead, single=True)  # never destroys ahead of today (CIN_TODAY)
    assert "--as-of: expected a day on or before today (2025-06-02)" in ahead.err


def assert_failed_cleanly_env(done: Outcome) -> None:
    lines = done.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cin: error: Prefect did not answer at")
    assert "Traceback" not in done.err


def database_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.glob("cin.db*")))
