"""`cin annex-a export`, `cin contact record`, `cin case allocate --date` and the visit's seen
flags, run as a council runs them (in-process `main`, SQLite and PostgreSQL): each refusal one
line with its exit status, nothing written, no child's reference repeated."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func
from sqlmodel import Session, select

from models.runtime import case_engine
from models.tables import AuditEntry, CaseAllocation, Contact
from tests.cli.cli_harness import assert_failed_cleanly, cin, point_at, write_lines
from tests.models.annex_a.histories import STAFF

CHILD = "SENTINELCHILD77"


@pytest.fixture
def run(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    point_at(monkeypatch, db_url, tmp_path)
    monkeypatch.setenv("CIN_TODAY", "2026-04-01")
    return lambda *argv: cin(capsys, *argv)


def _count(table) -> int:
    with Session(case_engine()) as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


def test_export_refusals_are_one_line_and_write_nothing(run, tmp_path):
    out = tmp_path / "annex-a.xlsx"
    future = run("annex-a", "export", "--authority", "redbridge", "--as-of", "2026-04-02",
                 "--out", str(out))  # fmt: skip
    assert_failed_cleanly(future, single=True)
    assert future.status == 2 and "--as-of: expected a date on or before today" in future.err

    empty = run("annex-a", "export", "--authority", "redbridge", "--as-of", "2026-03-31",
                "--out", str(out))  # fmt: skip
    assert_failed_cleanly(empty, single=True)
    assert empty.status == 1 and "--authority: redbridge has no case" in empty.err

    assert run("case", "refer", "--authority", "redbridge", "--child", CHILD,
               "--date", "2026-01-05", "--source", "6").status == 0  # fmt: skip
    folder = run("annex-a", "export", "--authority", "redbridge", "--as-of", "2026-03-31",
                 "--out", str(tmp_path))  # fmt: skip
    assert_failed_cleanly(folder, single=True)
    assert folder.status == 1 and "is a folder" in folder.err
    out.write_bytes(b"keep")
    there = run("annex-a", "export", "--authority", "redbridge", "--as-of", "2026-03-31",
                "--out", str(out))  # fmt: skip
    assert_failed_cleanly(there, single=True)
    assert there.status == 1 and "exists" in there.err and out.read_bytes() == b"keep"
    not_folder = run("annex-a", "export", "--authority", "redbridge", "--as-of", "2026-03-31",
                     "--csv", str(out))  # fmt: skip
    assert_failed_cleanly(not_folder, single=True)
    for done in (future, empty, folder, there, not_folder):
        assert CHILD not in done.err + done.out

    made = run("annex-a", "export", "--authority", "redbridge", "--as-of", "2026-03-31",
               "--out", str(out), "--force")  # fmt: skip
    assert made.status == 0 and made.err == ""
    assert CHILD not in made.out and "List 3 1" in made.out
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    sheet = load_workbook(out, read_only=True)["List 3"]
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == [CHILD]
    with Session(case_engine()) as session:  # one access row per export, naming nobody
        (access,) = session.exec(select(AuditEntry).where(AuditEntry.action == "annex a export"))
    assert (access.actor_kind, access.authority, access.outcome) == (
        "cli", "redbridge", "1 children, as at 2026-03-31"
    )  # fmt: skip
    assert access.case_ref is None and access.child_ref is None


def test_contacts_allocations_and_visits_are_recorded_once(run, tmp_path):
    contact = ("contact", "record", "--authority", "redbridge", "--child", CHILD,
               "--date", "2026-02-14", "--source", "1C")  # fmt: skip
    first, again = run(*contact), run(*contact)
    assert (first.status, again.status) == (0, 0)
    assert "already recorded" in again.out and CHILD not in first.out + again.out
    assert _count(Contact) == 1
    for bad, says in (
        (("--source", "99"), "source: expected a code from the DfE referral source list"),
        (("--date", "2026-05-01"), "date: expected a day on or before today"),
    ):
        argv = list(contact)
        for option, value in zip(bad[::2], bad[1::2], strict=True):
            argv[argv.index(option) + 1] = value
        done = run(*argv)
        assert_failed_cleanly(done, single=True)
        assert done.status == 1 and says in done.err and CHILD not in done.err
    assert _count(Contact) == 1

    refer = run("case", "refer", "--authority", "redbridge", "--child", CHILD,
                "--date", "2026-02-16", "--source", "1C")  # fmt: skip
    case = refer.out.splitlines()[-1]
    roster = tmp_path / "staff.csv"
    roster.write_text(STAFF)
    assert run("staff", "import", "--authority", "redbridge", str(roster)).status == 0
    later = run("case", "allocate", case, "--worker", "W1", "--date", "2026-04-02")
    assert_failed_cleanly(later, single=True)
    assert run("case", "allocate", case, "--worker", "W1", "--date", "2026-02-17").status == 0
    assert run("case", "allocate", case, "--worker", "W3").status == 0  # today: 2026-04-01
    with Session(case_engine()) as session:
        dated = session.exec(
            select(CaseAllocation.allocated_on, CaseAllocation.worker_id).order_by(
                CaseAllocation.allocated_on
            )
        ).all()
    assert [(str(on), w) for on, w in dated] == [("2026-02-17", "W1"), ("2026-04-01", "W3")]

    alone_unseen = run("case", "record", case, "visit_recorded", "--date", "2026-02-20",
                       "--seen", "no", "--seen-alone", "yes")  # fmt: skip
    assert_failed_cleanly(alone_unseen, single=True)
    assert "seen_alone: expected false or none when the child was not seen" in alone_unseen.err
    wrong_event = run("case", "record", case, "referral_decision", "--date", "2026-02-17",
                      "--outcome", "assessment", "--seen", "yes")  # fmt: skip
    assert_failed_cleanly(wrong_event, single=True)
    assert "takes no --seen" in wrong_event.err
    seen = run("case", "record", case, "visit_recorded", "--date", "2026-02-20",
               "--seen", "yes", "--seen-alone", "no")  # fmt: skip
    assert seen.status == 0, seen.err


def test_contacts_on_import_lines(run, tmp_path):
    lines = tmp_path / "contacts.jsonl"
    contact = {"type": "contact", "authority": "redbridge", "child": CHILD, "on": "2026-02-14",
               "source": "1C"}  # fmt: skip
    with_details = {**contact, "on": "2026-02-20", "child": {"ref": CHILD, "dob": "2015-01-01",
                    "sex": "F", "ethnicity": "WBRI", "upn_unknown": "UN5"}}  # fmt: skip
    write_lines(lines, [contact, contact, with_details, {**contact, "source": "99"},
                        {**contact, "case": "RED-000001"}])  # fmt: skip
    done = run("import", str(lines), "--no-deliver", "--no-progress")
    assert done.status == 1  # some lines refused
    assert "line 4: contact refused: source: expected a code" in done.err
    assert "line 5: contact: unknown field 'case'" in done.err
    assert CHILD not in done.err + done.out and "2015-01-01" not in done.err + done.out
    assert _count(Contact) == 2
