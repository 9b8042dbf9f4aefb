"""With Prefect stopped: accepting an event stays fast and says where Prefect was expected, and
the monitor carries on without it, says so in one line, and fails only when no message went."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine

from demo.local_server import free_port
from demo.local_smtp import LocalSmtpServer
from models.policy.book import PolicyBook
from tests.notifications.caseload import AS_OF, EXPECTED_MESSAGES, overdue_caseload

REPO = Path(__file__).resolve().parents[2]
# run `cin` in a fresh process and report whether Prefect was ever imported
PROBE = "import sys; from cli.main import main; rc = main(sys.argv[1:]); " \
        "print('prefect loaded' if 'prefect' in sys.modules else 'prefect not loaded'); " \
        "raise SystemExit(rc)"  # fmt: skip


def cin(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def stopped_prefect(db_url: str, tmp: Path, smtp_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CIN_"))}
    return {
        **env,
        "PREFECT_API_URL": f"http://127.0.0.1:{free_port()}/api",  # nothing listens there
        "CIN_DATABASE_URL": db_url,
        "CIN_DATA_DIR": str(tmp),
        "CIN_SMTP_URL": smtp_url,
    }


def test_events_are_accepted_at_once_and_queued(
    engine: Engine, db_url: str, tmp_path: Path, smtp_server: LocalSmtpServer
) -> None:
    env = stopped_prefect(db_url, tmp_path, smtp_server.url())
    refer = cin(env, "case", "refer", "--authority", "redbridge", "--child", "C9",
                "--date", "2025-01-06")  # fmt: skip
    assert refer.returncode == 0, refer.stderr
    assert "RED-000001" in refer.stdout
    # one line, naming where Prefect was expected; no warning, no traceback
    assert refer.stderr.strip() == (
        f"queued for delivery: Prefect did not answer at {env['PREFECT_API_URL']}; "
        "`cin worker` or `cin serve` delivers it once Prefect is up"
    )
    # fast: the client's connection retries never start, because Prefect is never loaded
    assert "prefect not loaded" in refer.stdout
    record = cin(env, "case", "record", "RED-000001", "referral_decision", "--date",
                 "2025-01-07", "--outcome", "assessment")  # fmt: skip
    assert record.returncode == 0 and "prefect not loaded" in record.stdout
    assert record.stderr.count("\n") == 1 and "queued for delivery" in record.stderr
    # and the outbox holds both for the reconciler
    from sqlmodel import Session, select

    from models.tables import Outbox

    with Session(engine) as session:
        assert len(session.exec(select(Outbox)).all()) == 2


def test_the_monitor_carries_on_without_prefect_and_fails_when_nothing_went(
    engine: Engine, book: PolicyBook, db_url: str, tmp_path: Path, smtp_server: LocalSmtpServer
) -> None:
    overdue_caseload(engine, book)
    down_smtp = f"mailto://127.0.0.1:{free_port()}?from=cin@council.example"
    # retries due at once, so the second pass below sends them
    down = {**stopped_prefect(db_url, tmp_path, down_smtp), "CIN_ALERT_RETRY_SECONDS": "0"}
    failed = cin(down, "monitor", "run", "--as-of", AS_OF.isoformat())
    assert failed.returncode == 1
    assert "Traceback" not in failed.stderr
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("cin: Prefect did not answer at http://127.0.0.1:")
    assert "carrying on without it" in lines[0] and "--without-prefect" in lines[0]
    assert lines[1].startswith(f"cin: error: every message failed to send ({EXPECTED_MESSAGES})")

    # the SMTP server is back: the next pass sends what waits, and succeeds
    env = {**stopped_prefect(db_url, tmp_path, smtp_server.url()), "CIN_ALERT_RETRY_SECONDS": "0"}
    ok = cin(env, "monitor", "run", "--as-of", AS_OF.isoformat())
    assert ok.returncode == 0, ok.stderr
    assert len(smtp_server.messages) == EXPECTED_MESSAGES
    assert "Traceback" not in ok.stderr and len(ok.stderr.strip().splitlines()) == 1
