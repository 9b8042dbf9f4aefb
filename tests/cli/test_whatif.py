"""`cin policy whatif`: hand-counted moves over report_histories.py, nothing written, on both
databases.

Today is 31 March 2025. The open deadlines then (report_histories.py): G's and K2's first CP
reviews (20 Dec, 15 Jan), H's assessment (24 Mar) and I's first review (5 Aug 2024): 4, all
overdue (Redbridge sets no visit clock, 003 L202; I's plan set no frequency).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, select
from sqlmodel import Session

from cli.main import main
from models.database import get_engine
from models.policy.book import PolicyBook
from tests.conftest import REPO_ROOT
from tests.models.report.histories import build


@pytest.fixture
def histories(
    engine: Engine, db_url: str, book: PolicyBook, monkeypatch: pytest.MonkeyPatch
) -> Engine:
    build(engine, book)
    monkeypatch.setenv("CIN_DATABASE_URL", db_url)
    monkeypatch.setenv("CIN_POLICY_DIR", str(REPO_ROOT / "policies"))
    monkeypatch.setenv("CIN_TODAY", "2025-03-31")
    return engine


def whatif(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["policy", "whatif", "redbridge", *args, "--json"]) == 0
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def test_the_policy_unchanged_moves_nothing(
    histories: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    same = whatif(capsys, "--draft", str(REPO_ROOT / "policies" / "redbridge.yaml"))
    # issue 19: G's and K2's assessments run on through their CP plans and their first core
    # groups are owed, neither recorded: 4 more open (and overdue) deadlines
    assert (same["open_cases"], same["open_deadlines"]) == (4, 8)
    assert (same["moved"], same["appeared"], same["vanished"], same["refused"]) == (0, 0, 0, 0)
    assert same["overdue_today"] == {"now": 8, "then": 8}
    assert same["now"] == same["then"]
    # the same amount written differently is no change either
    restated = whatif(capsys, "--set", "first_review=42 days")
    assert restated["moved"] == 0


def test_a_known_change_moves_the_hand_counted_deadlines(
    histories: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    # I's first review: 24 Jun 2024 + 4 weeks = 22 Jul (was 5 Aug: 14 days earlier);
    # H's assessment: 20 Jan 2025 + 20 working days = 17 Feb (was 24 Mar: 35 days earlier);
    # G's (Mon 2 Sep 2024) and K2's (Tue 1 Oct 2024), still running (issue 19): 25 working days
    # = 5 whole weeks earlier, no bank holiday between, 35 days each
    moved = whatif(
        capsys, "--set", "first_review=4 weeks", "--set", "assessment_completed=20 working days"
    )
    assert (moved["moved"], moved["moved_earlier"], moved["moved_later"]) == (4, 4, 0)
    assert moved["moved_by_kind"] == {"assessment_completed": 3, "first_review": 1}
    assert moved["shift_days"] == {"min": -35, "median": -35.0, "max": -14}
    assert moved["overdue_today"] == {"now": 8, "then": 8}
    assert moved["by_team"]["cin-east"]["moved"] == 3  # G, H, I (K2 has no team)
    assert {(m["deadline"], m["due_now"], m["due_then"], m["days"]) for m in moved["moves"]} == {
        ("assessment_completed", "2025-03-24", "2025-02-17", -35),
        ("assessment_completed", "2024-11-04", "2024-09-30", -35),  # G: 2 Sep + 45 WD / 20 WD
        ("assessment_completed", "2024-12-03", "2024-10-29", -35),  # K2: 1 Oct + 45 WD / 20 WD
        ("review#1", "2024-08-05", "2024-07-22", -14),
    }
    # in words, for a person: sentences, tables and the cases that move, no Python values
    assert main(["policy", "whatif", "redbridge", "--set", "first_review=4 weeks",
                 "--set", "assessment_completed=20 working days"]) == 0  # fmt: skip
    text = capsys.readouterr().out
    assert "4 deadlines would move (4 earlier, 0 later), by -35 to -14 days" in text
    assert "Deadlines that would move (4):" in text
    assert "2024-08-05  2024-07-22  -14" in text and "2025-03-24  2025-02-17  -35" in text
    assert "None" not in text and "{" not in text


def test_a_longer_clock_leaves_less_overdue_per_team(
    histories: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    # first CP review at 6 months: G 20 Sep 2024 -> 20 Mar 2025 (still overdue on 31 Mar),
    # K2 15 Oct 2024 -> 15 Apr 2025 (no longer overdue). K2 is unallocated: no team.
    longer = whatif(capsys, "--set", "first_cp_review=6 months")
    assert longer["moved"] == 2 and longer["moved_later"] == 2
    assert longer["overdue_today"] == {"now": 8, "then": 7}
    no_team = longer["by_team"]["(no team)"]
    # K2's assessment and first core group (issue 19) stay overdue either way
    assert no_team["overdue_today"] == {"now": 3, "then": 2}
    # K2's review was escalated to all three rungs in week 0 now; then it is due on 15 Apr,
    # so its worker reminder and rungs fall in weeks 2 and 3 instead (the other two overdue
    # clocks' three rungs each stay in week 0)
    assert no_team["now"]["alerts_by_week"][0] == 9
    assert no_team["then"]["alerts_by_week"][0] == 6
    assert sum(no_team["then"]["alerts_by_week"]) >= 9


def test_the_case_database_is_unchanged(
    histories: Engine, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _contents(histories)
    histories.dispose()
    digest = _file_digest(db_url)
    whatif(capsys, "--set", "first_review=4 weeks")
    get_engine(db_url).dispose()
    assert _file_digest(db_url) == digest
    assert _contents(histories) == before


def test_a_bad_setting_is_one_line_and_writes_nothing(
    histories: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["policy", "whatif", "redbridge", "--set", "first_review=4 fortnights"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--set first_review: expected a unit" in err


def _file_digest(db_url: str) -> str | None:
    if not db_url.startswith("sqlite:///"):
        return None
    path = Path(db_url.removeprefix("sqlite:///"))
    wal = path.with_name(path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _contents(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    meta = MetaData()
    meta.reflect(engine)
    with Session(engine) as session:
        return {
            name: sorted(tuple(map(str, row)) for row in session.execute(select(table)))
            for name, table in meta.tables.items()
        }
