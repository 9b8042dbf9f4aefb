"""`cin calendar add`: single dates, explanations, batches and one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import main

REPO = Path(__file__).resolve().parents[2]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_prints_the_due_date_as_the_last_line(capsys):
    status, out, _ = run(capsys, "calendar", "add", "2024-12-20", "20")
    assert status == 0
    assert out.splitlines()[-1] == "2025-01-22"


@pytest.mark.parametrize(
    ("nation", "due"),
    [("england", "2024-01-02"), ("scotland", "2024-01-03"), ("northern-ireland", "2024-01-02")],
)
def test_nation_is_chosen_by_name(capsys, nation, due):
    _, out, _ = run(capsys, "calendar", "add", "2023-12-29", "1", "--nation", nation)
    assert out.splitlines()[-1] == due


def test_units(capsys):
    _, out, _ = run(capsys, "calendar", "add", "2024-08-31", "6", "--unit", "months")
    assert out.splitlines()[-1] == "2025-02-28"
    _, out, _ = run(capsys, "calendar", "add", "2024-12-18", "6", "--unit", "weeks")
    assert out.splitlines()[-1] == "2025-01-29"


def test_explain_lists_skipped_days_with_reasons(capsys):
    _, out, _ = run(capsys, "calendar", "add", "2024-12-20", "20", "--explain")
    assert "skip 2024-12-25 Wed  Christmas Day" in out
    assert "skip 2024-12-26 Thu  Boxing Day" in out
    assert "skip 2025-01-01 Wed  New Year's Day" in out
    assert "skip 2024-12-21 Sat  Saturday" in out
    assert out.splitlines()[-1] == "2025-01-22"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["2024-13-01", "5"], "argument DATE: expected an ISO date YYYY-MM-DD; got '2024-13-01'"),
        (["2024-01-01", "x"], "argument N: expected a whole number; got 'x'"),
        (["1999-06-01", "5"], "1999-06-01 is outside the calendar's coverage"),
        (["2024-01-01", "5", "--nation", "france"], "argument --nation: invalid choice"),
    ],
)
def test_errors_are_one_line_naming_what_was_wrong(capsys, argv, message):
    with pytest.raises(SystemExit) if "argument" in message else _no_raise():
        status = main(["calendar", "add", *argv])
        assert status == 1
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1


class _no_raise:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_batch_keeps_order_and_fills_defaults(capsys, tmp_path):
    rows = tmp_path / "rows.csv"
    rows.write_text(
        "2024-12-20,20\n"
        "2023-12-29,1,working-days,scotland\n"
        "2024-08-31,6,months\n"
        "2023-12-29,1\n"
        "2024-07-11,1,,northern-ireland\n"
    )
    status, out, _ = run(capsys, "calendar", "add", "--batch", str(rows))
    assert status == 0
    assert out.splitlines() == [
        "2024-12-20,20,working-days,england,2025-01-22",
        "2023-12-29,1,working-days,scotland,2024-01-03",
        "2024-08-31,6,months,england,2025-02-28",
        "2023-12-29,1,working-days,england,2024-01-02",
        "2024-07-11,1,working-days,northern-ireland,2024-07-15",
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("2024-01-01,5\n2024-02-30,5\n", "line 2: start: expected an ISO date"),
        ("2024-01-01,five\n", "line 1: n: expected a whole number; got 'five'"),
        ("2024-01-01,5,fortnights\n", "line 1: unit: expected one of working-days"),
        ("2024-01-01,5,days,atlantis\n", "line 1:"),
        ("2024-01-01,5\n2040-12-30,5\n", "line 2: 5 working days after 2040-12-30"),
        ("2024-01-01\n", "line 1: expected start,n[,unit][,nation_or_authority]"),
    ],
)
def test_batch_errors_name_the_line_and_field_and_print_no_rows(capsys, tmp_path, content, message):
    rows = tmp_path / "rows.csv"
    rows.write_text(content)
    status, out, err = run(capsys, "calendar", "add", "--batch", str(rows))
    assert status == 1
    assert out == ""
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_the_installed_style_entry_point_runs_as_a_process():
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", "calendar", "add", "2022-09-16", "1"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "2022-09-20"
