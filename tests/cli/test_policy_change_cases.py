"""`cin policy validate` refuses a change that would leave open cases un-rebuildable, naming them.

On SQLite and PostgreSQL: a case referred in January replays under the installed policy; a new
file whose only version starts in June leaves its referral uncounted, so it is refused with the
case named, and the database is untouched.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.cli.cli_harness import REPO, assert_failed_cleanly, cin, point_at, snapshot


def test_a_change_that_breaks_open_cases_is_refused_with_the_cases_named(
    engine: Engine,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    point_at(monkeypatch, db_url, tmp_path)
    monkeypatch.setenv("CIN_TODAY", "2025-07-01")
    refer = ["case", "refer", "--authority", "redbridge", "--date", "2025-01-06"]
    opened = [cin(capsys, *refer, "--child", f"C{n}", "--key", f"k{n}") for n in (1, 2)]
    assert [o.status for o in opened] == [0, 0], [o.err for o in opened]
    case_refs = [o.out.splitlines()[-1] for o in opened]
    closed = cin(capsys, "case", "record", case_refs[1], "referral_decision",
                 "--date", "2025-01-07", "--outcome", "nfa")  # fmt: skip
    assert closed.status == 0, closed.err

    unchanged = cin(capsys, "policy", "validate", str(REPO / "policies" / "redbridge.yaml"))
    assert unchanged.status == 0, unchanged.err

    folder = tmp_path / "candidate"
    shutil.copytree(REPO / "policies", folder)
    path = folder / "redbridge.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("effective_from: 2018-08-01", "effective_from: 2025-06-01")
    # and the earlier history it is assumed for (003 L17): the version now starts in June 2025
    path.write_text(text.replace("assumed_from: 2013-04-15", "assumed_from: 2025-06-01"))
    before = snapshot(engine)

    done = cin(capsys, "policy", "validate", str(path))

    assert_failed_cleanly(done, single=True)
    assert done.err.startswith(
        f"{path}: would leave 1 open case(s) un-rebuildable (expected every open case to replay "
        f"under it): {case_refs[0]} event 1: "
    )
    assert case_refs[1] not in done.err  # closed: nothing to rebuild
    assert "C1" not in done.err
    assert snapshot(engine) == before
    # without the database check the file itself is fine
    assert cin(capsys, "policy", "validate", "--no-cases", str(path)).status == 0
