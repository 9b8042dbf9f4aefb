"""A child's date of birth and UPN reach the census return and nowhere else the engine writes:
not an alert, a message, a Prefect artifact, a run's name, tag or state message, a task run's
name, a log line (Python's or the Prefect server's), nor any other case-database row.

A real Prefect server (the session's), real SMTP and a real HTTPS receiver for Teams; the case
is driven through its run, the deadline monitor alerts on it, then the return is exported and
checked."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    LogFilter,
    TaskRunFilter,
)
from prefect.client.schemas.sorting import FlowRunSort, LogSort, TaskRunSort
from sqlalchemy import text
from sqlmodel import Session

from demo.local_smtp import LocalSmtpServer
from demo.teams_receiver import TeamsReceiver
from engine.ingest import Ingest
from engine.worker import work
from flows.monitor import deadline_monitor
from models.census.check import check_return
from models.census.export import export_return
from models.census.year import CensusYear
from models.settings import get_settings
from models.staff.roster import parse_staff_csv
from models.staff.store import allocate, import_staff
from tests.flows.prefect_reads import artifacts_matching
from tests.models.census.histories import upn_for
from tests.notifications.caseload import ROSTER

SENTINEL_DOB = "2011-07-23"
SENTINEL_UPN = upn_for(424242)
CHILD = "SENTINEL77"


def test_a_sentinel_dob_and_upn_reach_the_return_and_nothing_else(
    prefect_server: None,
    case_db: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    smtp_server: LocalSmtpServer,
    teams_receiver: TeamsReceiver,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("CIN_SMTP_URL", smtp_server.url())
    monkeypatch.setenv(
        "CIN_TEAMS_URLS", json.dumps({"redbridge/east": teams_receiver.apprise_url("east")})
    )
    monkeypatch.setenv("CIN_TODAY", "2025-06-02")
    ingest = Ingest.from_settings()
    ingest.set_child(
        authority="redbridge",
        child_ref=CHILD,
        details={"birth_date": SENTINEL_DOB, "upn": SENTINEL_UPN, "sex": "F",
                 "ethnicity": "WBRI", "disabilities": ["NONE"]},
    )  # fmt: skip
    case = ingest.refer(
        authority="redbridge", child_ref=CHILD, on=date(2025, 4, 22), source="2A",
        primary_need="N1", team="east",
    ).case_ref  # fmt: skip
    for event in (
        {"type": "referral_decision", "on": "2025-04-23", "outcome": "assessment"},
        {"type": "assessment_started", "on": "2025-04-24"},
        {"type": "assessment_completed", "on": "2025-05-12", "outcome": "cin_plan",
         "factors": ["3B", "4B"], "authorised": "2025-05-13"},
    ):  # fmt: skip
        ingest.record(case, event)
    import_staff(ingest.engine, authority="redbridge", rows=parse_staff_csv(ROSTER))
    allocate(ingest.engine, case_ref=case, worker_id="W1")
    work(ingest.engine, threads=1, until_idle=True)
    # the CIN plan meeting (15 working days from 12 May) is overdue by 10 June: alerts go out
    monkeypatch.setenv("CIN_TODAY", "2025-06-10")
    summary = deadline_monitor(as_of=date(2025, 6, 10))
    assert summary["newly_overdue"] >= 1 and summary["failed"] == 0
    work(ingest.engine, threads=1, until_idle=True)

    out = tmp_path / "return.xml"
    produced = datetime(2026, 4, 2, tzinfo=UTC)
    year = CensusYear(2026)
    export_return(ingest.engine, policies=ingest.policies, authority="redbridge", year=year,
                  out=out, produced_at=produced)  # fmt: skip
    report = check_return(ingest.engine, policies=ingest.policies, authority="redbridge",
                          year=year, produced_at=produced,
                          census_python=get_settings().census_python)  # fmt: skip

    the_return = out.read_text(encoding="utf-8")
    assert f"<PersonBirthDate>{SENTINEL_DOB}</PersonBirthDate>" in the_return
    assert f"<UPN>{SENTINEL_UPN}</UPN>" in the_return

    written: dict[str, str] = {
        "alerts and dispatches": _rows(ingest.engine, ("alert", "dispatch")),
        "case rows": _rows(
            ingest.engine, ("case", "case_event", "deadline", "outbox", "case_work", "drift")
        ),  # fmt: skip
        "email": "\n".join(m.subject + m.body for m in smtp_server.messages),
        "teams": json.dumps([r.body for r in teams_receiver.requests]),
        "check report": repr(report.findings),
        "python logs": "\n".join(r.getMessage() for r in caplog.records),
        **asyncio.run(_prefect_texts()),
    }
    assert smtp_server.messages and teams_receiver.requests, "the alerts were really sent"
    assert case in written["flow runs"] and case in written["artifacts"]  # the run published
    assert written["prefect logs"] and written["python logs"] and written["alerts and dispatches"]
    for where, seen in written.items():
        assert SENTINEL_DOB not in seen, f"the date of birth leaked into {where}"
        assert SENTINEL_UPN not in seen, f"the UPN leaked into {where}"


def _rows(engine, tables: tuple[str, ...]) -> str:
    with Session(engine) as session:
        return "\n".join(
            repr(row)
            for table in tables
            for row in session.execute(text(f'SELECT * FROM "{table}"')).all()
        )


async def _prefect_texts() -> dict[str, str]:
    async with get_client() as client:
        # explicit sorts: a stable order (Prefect 3.8.8 also refused the null ones; 3.9.1 does not)
        runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(), sort=FlowRunSort.ID_DESC, limit=200
        )
        tasks = await client.read_task_runs(
            flow_run_filter=FlowRunFilter(),
            task_run_filter=TaskRunFilter(),
            sort=TaskRunSort.EXPECTED_START_TIME_ASC,
            limit=200,
        )
        artifacts = await artifacts_matching(client, {}, limit=200)
        logs = await client.read_logs(
            log_filter=LogFilter(), limit=200, offset=0, sort=LogSort.TIMESTAMP_ASC
        )
    return {
        "flow runs": json.dumps(
            [[r.name, r.tags, r.state.message if r.state else None, r.parameters] for r in runs],
            default=str,
        ),
        "task runs": json.dumps([[t.name, t.tags] for t in tasks], default=str),
        "artifacts": json.dumps([[a.key, a.description, a.data] for a in artifacts], default=str),
        "prefect logs": "\n".join(log.message for log in logs),
    }
