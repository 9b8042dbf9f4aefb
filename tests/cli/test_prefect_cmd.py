"""`cin prefect prune`: refused input and an unreachable Prefect, each one clear line, nothing
deleted and nothing written (the pass itself is tested on a real server:
tests/tasks/test_prefect_retention.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.cli_harness import assert_failed_cleanly, cin, point_at


@pytest.mark.parametrize("days", ["0", "-3", "soon", "nan"])
def test_a_bad_period_is_a_usage_error(
    days: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    point_at(monkeypatch, f"sqlite:///{tmp_path}/cin.db", tmp_path)
    done = cin(capsys, "prefect", "prune", "--older-than-days", days)
    assert done.status == 2
    assert_failed_cleanly(done, single=True)
    assert "--older-than-days" in done.err and "expected a number of days above 0" in done.err
    assert not (tmp_path / "cin.db").exists()  # nothing written


def test_prefect_unreachable_deletes_nothing_and_says_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    point_at(monkeypatch, f"sqlite:///{tmp_path}/cin.db", tmp_path)  # Prefect: port 9, closed
    done = cin(capsys, "prefect", "prune")
    assert done.status == 1
    assert_failed_cleanly(done, single=True)
    assert "Prefect did not answer at http://127.0.0.1:9/api: nothing was deleted" in done.err
