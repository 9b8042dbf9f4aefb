"""A kill -9 in the middle of `cin retention apply` leaves no half-destroyed child, and a re-run
finishes the job (issue 24).

Deterministic, no timing: the test holds a row lock on the second child's access-log row, which
the destroying transaction updates after it has deleted that child's events, deadlines and
alerts; once PostgreSQL shows the `cin` process waiting on that lock, it is killed, mid-child.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import make_url
from sqlmodel import Session, select

from models.access.record import UnknownChild, child_record
from models.database import get_engine
from models.tables import DestructionLog
from tests.cli.cli_harness import cin, point_at
from tests.cli.test_retention import AS_OF, policies_with_rule

REPO = Path(__file__).resolve().parents[2]
CHILDREN = ("K1", "K2", "K3")


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_killed_apply_leaves_each_child_whole_or_gone_and_a_rerun_finishes(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    point_at(monkeypatch, db_url, tmp_path)
    policy_dir = policies_with_rule(tmp_path)
    monkeypatch.setenv("CIN_POLICY_DIR", str(policy_dir))
    for child in CHILDREN:
        refer = cin(capsys, "case", "refer", "--authority", "redbridge", "--child", child,
                    "--date", "2019-03-04")  # fmt: skip
        case = refer.out.splitlines()[-1]
        assert cin(capsys, "case", "record", case, "referral_decision", "--date", "2019-03-11",
                   "--outcome", "nfa").status == 0  # fmt: skip
        assert cin(capsys, "case", "show", case).status == 0  # the access row locked below
    engine = get_engine(db_url)
    with Session(engine) as session:
        before = {c: child_record(session, authority="redbridge", child_ref=c) for c in CHILDREN}
    assert all(r.tables["case_event"] and r.tables["deadline"] for r in before.values())

    dsn = make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with psycopg.connect(dsn) as lock:
        lock.execute("SELECT id FROM audit_log WHERE child_ref = 'K2' FOR UPDATE")
        process = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "retention", "apply",
             "--authority", "redbridge", "--as-of", AS_OF],
            env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            assert waiting_on_a_lock(dsn, process), "apply never reached the locked row"
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
        lock.rollback()
    assert process.returncode == -signal.SIGKILL

    with Session(engine) as session:
        with pytest.raises(UnknownChild):  # destroyed before the kill: gone, and logged
            child_record(session, authority="redbridge", child_ref="K1")
        for child in ("K2", "K3"):  # K2 was mid-way: whole, as before, like K3
            assert child_record(session, authority="redbridge", child_ref=child) == before[child]
        assert len(session.exec(select(DestructionLog)).all()) == 1

    again = cin(capsys, "retention", "apply", "--authority", "redbridge", "--as-of", AS_OF)
    assert "2 record(s) destroyed (2 case(s))" in again.out, again.err
    with Session(engine) as session:
        for child in CHILDREN:
            with pytest.raises(UnknownChild):
                child_record(session, authority="redbridge", child_ref=child)
        logs = session.exec(select(DestructionLog)).all()
    assert len(logs) == 3 and len({log.child_hash for log in logs}) == 3


def waiting_on_a_lock(dsn: str, process: subprocess.Popen[bytes]) -> bool:
    """True once another backend of this database waits on a lock (the apply's UPDATE); False if
    the process ended first or a minute passed. Polls a condition; it does not time a race."""
    deadline = time.monotonic() + 60
    with psycopg.connect(dsn, autocommit=True) as watch:
        while time.monotonic() < deadline and process.poll() is None:
            waiting = watch.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            ).fetchone()
            if waiting and waiting[0]:
                return True
            time.sleep(0.05)
    return False
