"""Running `cin` in this process against a test's own database, and checking how it failed."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, SQLModel

from cli.main import main

REPO = Path(__file__).resolve().parents[2]
# a line of a refusal: `cin: error: ...`, argparse's `cin x: error: ...`, or a problem listing
# that names its file or its line
_REFUSAL_LINE = re.compile(
    r"^(cin( [a-z-]+)*: error: |line \d+: |/\S+: |\S+\.(yaml|csv): |\.\.\. )"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass
class Outcome:
    status: int
    out: str
    err: str


def point_at(monkeypatch: pytest.MonkeyPatch, db_url: str, data_dir: Path) -> None:
    """This test's database and data folder; Prefect pointed where nothing listens."""
    monkeypatch.setenv("CIN_DATA_DIR", str(data_dir))
    monkeypatch.setenv("CIN_DATABASE_URL", db_url)
    monkeypatch.setenv("CIN_TODAY", "2025-06-02")
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    monkeypatch.setenv("PREFECT_HOME", str(data_dir / "prefect"))
    monkeypatch.setenv("PREFECT_SERVER_ALLOW_EPHEMERAL_MODE", "false")
    monkeypatch.setenv("PREFECT_CLIENT_MAX_RETRIES", "0")
    monkeypatch.delenv("CIN_POLICY_DIR", raising=False)


def cin(capsys: pytest.CaptureFixture[str], *argv: str) -> Outcome:
    capsys.readouterr()
    try:
        status = main(list(argv))
    except SystemExit as exit_:  # argparse's usage errors
        status = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return Outcome(status, out, err)


def snapshot(engine: Engine) -> dict[str, list[str]]:
    """Every row of every table, as text: equal snapshots mean nothing was written."""
    with Session(engine) as session:
        return {
            table.name: sorted(repr(tuple(row)) for row in session.execute(select(table)))
            for table in SQLModel.metadata.sorted_tables
        }


def assert_failed_cleanly(done: Outcome, *, single: bool = False) -> None:
    """No traceback; every stderr line one refusal, without control codes; exit 1 or 2."""
    assert "Traceback" not in done.err, done.err[-2000:]
    assert done.status in (1, 2), (done.status, done.err[-500:])
    lines = done.err.splitlines()
    assert lines, "a refusal says why"
    refusals = [line for line in lines if not _is_log_line(line)]
    for line in refusals:
        assert _REFUSAL_LINE.match(line), f"not a one-line refusal: {line[:300]!r}"
        assert not _CONTROL.search(line), f"control code in {line[:300]!r}"
        assert len(line) <= 1000, f"{len(line)} characters in one line"
    if single:
        assert len(refusals) == 1, refusals


def assert_no_traceback(done: Outcome) -> None:
    assert "Traceback" not in done.err, done.err[-2000:]
    assert done.status in (0, 1, 2), (done.status, done.err[-500:])


def _is_log_line(line: str) -> bool:
    # Prefect's own logger (delivery to an unreachable server is retried by the reconciler)
    return bool(re.match(r"^\d\d:\d\d:\d\d\.\d+ \| (WARNING|INFO) ", line))


def write_lines(path: Path, lines: Sequence[Any]) -> Path:
    import json

    path.write_text(
        "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines),
        encoding="utf-8",
    )
    return path
