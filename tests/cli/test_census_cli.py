"""`cin child set`, the census fields on `cin case record` and import lines, and
`cin census export` / `check`, run as a council runs them (in-process `main`, SQLite and
PostgreSQL through CIN_DATABASE_URL; no Prefect server needed: `deliver=False` paths)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from cli.main import main
from models.runtime import case_engine
from models.tables import AuditEntry, Child
from tests.models.census.histories import upn_for

SENTINEL_DOB = "2013-02-17"


@pytest.fixture
def cin(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    monkeypatch.setenv("CIN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CIN_DATABASE_URL", db_url)
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")  # nothing listens there
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect"))
    monkeypatch.setenv("PREFECT_CLIENT_MAX_RETRIES", "0")
    monkeypatch.setenv("PREFECT_SERVER_ALLOW_EPHEMERAL_MODE", "false")

    def run(*argv: str) -> tuple[int, str, str]:
        try:
            status = main(list(argv))
        except SystemExit as stop:  # argparse usage errors
            status = int(stop.code or 0)
        out, err = capsys.readouterr()
        return status, out, err

    return run


def children() -> int:
    with Session(case_engine()) as session:
        return int(session.exec(select(func.count()).select_from(Child)).one())


def child_set(cin, ref: str, *more: str) -> tuple[int, str, str]:
    args = ["--dob", SENTINEL_DOB, "--sex", "F", "--ethnicity", "WBRI", "--upn", upn_for(7)]
    return cin("child", "set", ref, "--authority", "redbridge", *args, *more)


def test_child_set_refuses_bad_codes_naming_the_list_and_stores_nothing(cin):
    status, _, err = child_set(cin, "C77", "--disability", "NONE", "--disability", "WINGS")
    assert status == 1
    assert "disabilities: expected one of NONE, MOB, HAND" in err and "'WINGS'" in err

    status, _, err = cin(
        "child", "set", "C77", "--authority", "redbridge", "--dob", SENTINEL_DOB,
        "--sex", "X", "--ethnicity", "PURPLE", "--upn-unknown", "UN9",
    )  # fmt: skip
    assert status == 1
    assert "sex: expected one of M|F|U" in err
    assert "ethnicity: expected one of the DfE ethnicity codes" in err
    assert "upn_unknown: expected one of UN1-UN7" in err

    wrong_check_letter = "Z" + upn_for(7)[1:]
    status, _, err = cin(
        "child", "set", "C77", "--authority", "redbridge", "--dob", SENTINEL_DOB,
        "--sex", "F", "--ethnicity", "WBRI", "--upn", wrong_check_letter,
    )  # fmt: skip
    assert status == 1
    assert "upn: the check letter (character 1) does not match" in err
    assert wrong_check_letter not in err and SENTINEL_DOB not in err  # never echoed
    assert "Traceback" not in err

    status, _, err = cin(
        "child", "set", "C77", "--authority", "redbridge", "--expected-dob", "2026-06-01",
        "--sex", "F", "--ethnicity", "WBRI", "--upn-unknown", "UN1",
    )  # fmt: skip
    assert status == 1 and "an unborn child's sex is U" in err
    assert children() == 0

    status, out, err = child_set(cin, "C77", "--disability", "AUT")
    assert (status, err) == (0, "")
    assert "C77" not in out and SENTINEL_DOB not in out
    assert children() == 1


def test_record_census_fields_then_export_and_check(cin, tmp_path):
    status, out, _ = cin(
        "case", "refer", "--authority", "redbridge", "--child", "C77",
        "--date", "2025-05-01", "--source", "2A", "--need", "N1",
    )  # fmt: skip
    assert status == 0
    case = out.splitlines()[-1]
    assert child_set(cin, "C77")[0] == 0

    def record(event: str, on: str, *more: str) -> tuple[int, str, str]:
        return cin("case", "record", case, event, "--date", on, *more)

    status, _, err = record(
        "assessment_completed", "2025-06-02", "--outcome", "cin_plan", "--factors", "3B,XX"
    )
    assert status == 1 and len(err.strip().splitlines()) == 1  # one short line
    assert "factors: expected codes from the DfE assessment factors list" in err
    assert "(item 2 is not)" in err and "..." not in err and "'24A'" not in err
    status, _, err = record("referral_decision", "2025-05-02", "--outcome", "assessment",
                            "--category", "NEG")  # fmt: skip
    assert status == 1 and "takes no --category" in err

    assert record("referral_decision", "2025-05-02", "--outcome", "assessment")[0] == 0
    assert record("assessment_started", "2025-05-06")[0] == 0
    done = record(
        "assessment_completed", "2025-06-02", "--outcome", "cin_plan",
        "--factors", "3B,4B", "--authorised", "2025-06-04",
    )  # fmt: skip
    assert done[0] == 0, done
    assert record("cin_meeting_held", "2025-06-16")[0] == 0
    assert record("s47_started", "2025-07-01")[0] == 0
    held = record("icpc_held", "2025-07-15", "--outcome", "cp_plan", "--category", "PHY")
    assert held[0] == 0, held

    out_file = tmp_path / "return.xml"
    status, out, err = cin(
        "census", "export", "--authority", "redbridge", "--year", "2026", "--out", str(out_file)
    )
    assert status == 0, err
    assert "1 children" in out and "C77" not in out + err and SENTINEL_DOB not in out + err
    assert stat.S_IMODE(out_file.stat().st_mode) == 0o600
    with Session(case_engine()) as session:  # one access row per export, naming nobody
        (access,) = session.exec(select(AuditEntry).where(AuditEntry.action == "census export"))
    assert (access.actor_kind, access.authority, access.outcome) == (
        "cli", "redbridge", "1 children, year 2026"
    )  # fmt: skip
    assert access.case_ref is None and access.child_ref is None
    text = out_file.read_text()
    assert f"<PersonBirthDate>{SENTINEL_DOB}</PersonBirthDate>" in text
    assert "<AssessmentAuthorisationDate>2025-06-04</AssessmentAuthorisationDate>" in text
    assert "<InitialCategoryOfAbuse>PHY</InitialCategoryOfAbuse>" in text

    status, out, err = cin("census", "check", "--authority", "redbridge", "--year", "2026")
    assert status == 0, out + err
    assert "summary (1 children in the return, 2026-03-31)" in out
    with Session(case_engine()) as session:
        (access,) = session.exec(select(AuditEntry).where(AuditEntry.action == "census check"))
    assert access.child_ref is None and access.outcome == "1 children, year 2026"
    assert " Error " not in out
    assert "C77" not in out + err and SENTINEL_DOB not in out + err


def test_check_lists_a_failure_by_case_rule_field_and_event_and_exits_1(cin):
    status, out, _ = cin("case", "refer", "--authority", "redbridge", "--child", "C78",
                         "--date", "2025-05-01", "--need", "N1")  # fmt: skip
    case = out.splitlines()[-1]
    assert child_set(cin, "C78")[0] == 0
    for event, on, *more in [
        ("referral_decision", "2025-05-02", "--outcome", "assessment"),
        ("assessment_started", "2025-05-10"),
        ("assessment_completed", "2025-06-02", "--outcome", "nfa", "--factors", "21",
         "--authorised", "2025-05-05"),
    ]:  # fmt: skip
        assert cin("case", "record", case, event, "--date", on, *more)[0] == 0

    status, out, _ = cin("census", "check", "--authority", "redbridge", "--year", "2026")
    assert status == 1
    line = next(x for x in out.splitlines() if "AssessmentAuthorisationDate" in x)
    assert line.startswith(case) and "rule 8608" in line and "Error" in line
    assert line.endswith("-> correct event 4 (assessment_completed)")
    assert (
        "rule 8608    Error      2  Assessment Start Date cannot be later than its End Date" in out
    )


def test_import_carries_child_objects_and_census_fields(cin, tmp_path):
    lines = [
        {"authority": "redbridge", "child": {"ref": "C90", "dob": SENTINEL_DOB, "sex": "M",
         "ethnicity": "BCRB", "upn_unknown": "UN5", "disabilities": ["NONE"]},
         "type": "referral_received", "on": "2025-05-01", "source": "6", "primary_need": "N2"},
        {"authority": "redbridge", "child": "C90", "type": "referral_decision",
         "on": "2025-05-02", "outcome": "assessment"},
        {"authority": "redbridge", "child": "C90", "type": "assessment_completed",
         "on": "2025-06-02", "outcome": "nfa", "factors": ["21"], "authorised": "2025-06-03"},
        {"authority": "redbridge", "child": {"ref": "C91", "dob": SENTINEL_DOB, "sex": "F",
         "ethnicity": "NOPE", "upn_unknown": "UN5"}},
        {"authority": "redbridge", "child": {"ref": "C92", "dob": "1 May", "sex": "F",
         "ethnicity": "WBRI", "upn_unknown": "UN5"}},
    ]  # fmt: skip
    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")

    status, out, err = cin("import", str(path), "--no-deliver", "--no-progress")
    assert status == 1
    assert "3 accepted" in out and "2 refused" in out
    assert "line 4: child details refused: ethnicity: expected one of the DfE ethnicity" in err
    assert "line 5: child details refused: birth_date: expected a date YYYY-MM-DD" in err
    assert SENTINEL_DOB not in err and "1 May" not in err and "C9" not in err

    out_file = tmp_path / "r.xml"
    status, _, err = cin(
        "census", "export", "--authority", "redbridge", "--year", "2026", "--out", str(out_file)
    )
    assert status == 0, err
    text = out_file.read_text()
    assert "<LAchildID>C90</LAchildID>" in text and "<Ethnicity>BCRB</Ethnicity>" in text
    assert "<AssessmentFactors>21</AssessmentFactors>" in text
    assert "<ReasonForClosure>RC8</ReasonForClosure>" in text
