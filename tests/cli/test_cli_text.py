"""The command line's words: help for every argument, defaults shown, singular units, and a
reader that stops early (`| head`) is no error."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import main as cin

REPO = Path(__file__).resolve().parents[2]


def help_text(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    with pytest.raises(SystemExit):
        cin([*args, "--help"])
    return capsys.readouterr().out


def test_record_help_lists_only_events_it_accepts_and_explains_outcome(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = help_text(capsys, "case", "record")
    assert "referral_received" not in text
    assert re.search(r"--outcome OUTCOME\s+what was decided", text)
    assert "review_held:" in text and "step_down_panel|escalate|close" in text
    assert re.search(r"--date DATE\s+when it happened", text)


def test_calendar_add_help_explains_date_n_and_shows_the_unit_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = help_text(capsys, "calendar", "add")
    assert re.search(r"DATE\s+the event's date \(day 0\)", text)
    assert re.search(r"N\s+how many units after DATE", text)
    assert re.search(r"what N counts\s+\(default:\s+working-days\)", text)


def test_one_working_day_is_singular(capsys: pytest.CaptureFixture[str]) -> None:
    assert cin(["calendar", "add", "2025-01-06", "1", "--explain"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("1 working day from 2025-01-06 under england")
    assert cin(["calendar", "add", "2025-01-06", "2", "--explain"]) == 0
    assert capsys.readouterr().out.startswith("2 working days from 2025-01-06")


def test_a_reader_that_stops_early_is_no_error(tmp_path: Path) -> None:
    env = {**os.environ, "CIN_DATA_DIR": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "calendar", "add", "2024-12-20", "20", "--explain"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone before anything is written
    err = process.stderr.read().decode()
    assert process.wait(timeout=60) == 0
    assert "Broken pipe" not in err and "Traceback" not in err and err == ""
