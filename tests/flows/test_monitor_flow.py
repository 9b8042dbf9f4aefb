"""The deadline monitor as operations staff see it, on a real Prefect server: its table artifact,
its events, the case run's "overdue since" message; and as managers see it, by real SMTP and a
real HTTPS receiver standing in for the Teams workflow."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import date

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowFilter, FlowFilterName
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.sorting import FlowRunSort
from sqlmodel import Session

from demo.local_smtp import LocalSmtpServer
from demo.teams_receiver import TeamsReceiver
from engine.ingest import Ingest
from engine.worker import work
from flows.monitor import MONITOR_FLOW_NAME, deadline_monitor
from models.cases.reads import load_case
from models.instance import instance_id, monitor_artifact_key
from models.staff.roster import parse_staff_csv
from models.staff.store import allocate, import_staff
from tests.flows.prefect_reads import read_artifacts
from tests.notifications.caseload import ADDRESSES, ROSTER, STAFF_NAMES

CHILD = "CHILDSECRETFLOW"


def test_a_monitor_run_alerts_publishes_and_refreshes_the_case_run(
    prefect_server: None,
    case_db: str,
    monkeypatch: pytest.MonkeyPatch,
    smtp_server: LocalSmtpServer,
    teams_receiver: TeamsReceiver,
) -> None:
    monkeypatch.setenv("CIN_SMTP_URL", smtp_server.url())
    monkeypatch.setenv(
        "CIN_TEAMS_URLS", json.dumps({"redbridge/east": teams_receiver.apprise_url("east")})
    )
    monkeypatch.setenv("CIN_TODAY", "2025-02-03")
    ingest = Ingest.from_settings()
    accepted = ingest.refer(
        authority="redbridge", child_ref=CHILD, on=date(2025, 1, 6), source="2A", team="east"
    )
    ingest.record(accepted.case_ref, {"type": "referral_decision", "on": "2025-01-07",
                                      "outcome": "assessment"})  # fmt: skip
    ingest.record(accepted.case_ref, {"type": "assessment_completed", "on": "2025-02-03",
                                      "outcome": "cin_plan"})  # fmt: skip
    import_staff(ingest.engine, authority="redbridge", rows=parse_staff_csv(ROSTER))
    allocate(ingest.engine, case_ref=accepted.case_ref, worker_id="W1")
    work(ingest.engine, threads=1, until_idle=True)
    with Session(ingest.engine) as session:
        run_id = load_case(session, accepted.case_ref).flow_run_id
    with get_client(sync_client=True) as client:
        before = client.read_flow_run(run_id)
    assert before.state.message == (
        "due 2025-02-24: waiting for cin_plan_meeting · stage plan_pending · +1 more open"
    )

    # the plan meeting (15 working days: due Mon 24 Feb) is not held; Tue 25 Feb it is overdue
    monkeypatch.setenv("CIN_TODAY", "2025-02-25")
    summary = deadline_monitor(as_of=date(2025, 2, 25))

    assert summary["newly_overdue"] == 1 and summary["escalations"] == 2  # TM by email and Teams
    assert summary["case_runs_labelled"] == 1 and summary["failed"] == 0
    # by the end of the pass, without waking the run: its badge, message and tags say so
    with get_client(sync_client=True) as client:
        after = client.read_flow_run(run_id)
        monitor_run = client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[MONITOR_FLOW_NAME])),
            sort=FlowRunSort.START_TIME_DESC,
            limit=1,
        )[0]
    assert after.state.type is StateType.PAUSED and after.state.name == "Overdue"
    assert after.state.message == (
        "overdue since 2025-02-25 (due 2025-02-24): waiting for cin_plan_meeting · "
        "stage plan_pending · +1 more open"
    )
    assert {"overdue", "rung:team_manager", "stage:plan_pending"} <= set(after.tags)
    assert monitor_run.name.startswith("monitor 2025-02-25 ")
    assert "1 overdue, 2 alerts raised, 2 sent, 1 run relabelled" in monitor_run.name
    # the relabelled run still resumes: the next event is delivered and applied
    ingest.record(accepted.case_ref, {"type": "cin_meeting_held", "on": "2025-02-25"})
    work(ingest.engine, threads=1, until_idle=True)
    with Session(ingest.engine) as session:
        case = load_case(session, accepted.case_ref)
    assert case.flow_seq == case.last_seq == 4
    with get_client(sync_client=True) as client:
        met = client.read_flow_run(run_id)
    assert met.state.type is StateType.PAUSED and met.state.name == "Suspended"
    assert "overdue" not in met.tags

    # managers: the east team manager, by email (the day's digest) and in the team's channel
    assert [m.envelope_to for m in smtp_server.messages] == [(ADDRESSES["TME"],)]
    digest = smtp_server.messages[0]
    assert digest.subject == "[CIN] Daily digest 2025-02-25: 1 item for your team"
    assert f"{accepted.case_ref}: CIN plan meeting overdue since 2025-02-25" in digest.body
    assert f"/artifacts/key/case-{instance_id(ingest.engine)}-{accepted.case_ref.lower()}" in (
        digest.body
    )
    assert "you are told as the team manager: 1 working day overdue" in digest.body
    assert len(teams_receiver.requests) == 1
    assert teams_receiver.requests[0].workflow == "east"
    posted = json.dumps(teams_receiver.requests[0].body)
    assert accepted.case_ref in posted
    for text in (digest.subject + digest.body, posted):
        assert CHILD not in text and not any(name in text for name in STAFF_NAMES)

    # operations: the table artifact by authority and team
    artifacts = read_artifacts(monitor_artifact_key(instance_id(ingest.engine)), limit=5)
    assert artifacts, "the monitor publishes its table"
    rows = json.loads(artifacts[0].data)
    assert [(r["authority"], r["team"], r["overdue"]) for r in rows] == [("redbridge", "east", 1)]
    assert CHILD not in artifacts[0].data

    # automations: the events, by case reference
    expected = {"cin.deadline.overdue", "cin.deadline.escalated"}
    names = asyncio.run(_event_names(f"cin.case.{accepted.case_ref}", expected))
    assert expected <= set(names)

    # the next pass, the same day, says nothing twice
    again = deadline_monitor(as_of=date(2025, 2, 25))
    assert again["alerts_raised"] == 0 and again["sent"] == 0
    assert len(smtp_server.messages) == 1 and len(teams_receiver.requests) == 1


async def _event_names(resource_id: str, expected: set[str]) -> list[str]:
    """Events the server has stored for the resource. They arrive asynchronously (the client's
    websocket, then the server's batched writer), later under load: poll until the expected ones
    are there or two minutes have passed, and return what was found either way."""
    deadline = time.monotonic() + 120
    names: list[str] = []
    async with get_client() as client:
        while time.monotonic() < deadline:
            response = await client._client.post(
                "/events/filter",
                json={
                    "filter": {
                        "any_resource": {"id": [resource_id]},
                        "occurred": {"since": "2000-01-01T00:00:00Z"},
                    },
                    "limit": 50,
                },
            )
            response.raise_for_status()
            names = [e["event"] for e in response.json()["events"]]
            if expected <= set(names):
                return names
            await asyncio.sleep(0.5)
    return names
