"""A case driven through its whole life on a real Prefect server: states, tags, artifact."""

from __future__ import annotations

from datetime import date

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.sorting import FlowRunSort, TaskRunSort
from sqlmodel import Session, select

from engine.ingest import Ingest
from engine.worker import work
from models.cases.reads import load_case
from models.instance import case_artifact_key, instance_id, instance_tag
from models.tables import CaseWork
from tests.flows.prefect_reads import event_seqs, read_artifacts

HISTORY = [
    ({"type": "referral_decision", "on": "2025-01-07", "outcome": "assessment"}, "assessment"),
    ({"type": "assessment_completed", "on": "2025-02-10", "outcome": "cin_plan"}, "plan_pending"),
    ({"type": "cin_meeting_held", "on": "2025-02-24"}, "cin_plan"),
    ({"type": "plan_distributed", "on": "2025-03-05"}, "cin_plan"),
    ({"type": "review_held", "on": "2025-04-07", "outcome": "continue"}, "cin_plan"),
    ({"type": "review_held", "on": "2025-10-01", "outcome": "step_down_panel"}, "step_down_panel"),
    ({"type": "step_down_panel", "on": "2025-10-08", "outcome": "accepted"}, "final_meeting"),
    ({"type": "final_meeting_held", "on": "2025-10-20"}, "closed"),
]


def read_run(run_id):
    with get_client(sync_client=True) as client:
        return client.read_flow_run(run_id)


def test_a_case_lives_as_one_flow_run_through_referral_plan_reviews_and_closure(
    prefect_server, case_db
):
    ingest = Ingest.from_settings()
    accepted = ingest.refer(
        authority="redbridge", child_ref="SYN1", on=date(2025, 1, 6), source="2A", team="east"
    )
    work(ingest.engine, threads=1, until_idle=True)
    with Session(ingest.engine) as session:
        run_id = load_case(session, accepted.case_ref).flow_run_id
    assert run_id is not None

    run = read_run(run_id)
    assert run.name == accepted.case_ref
    # the real clock: the decision (due 2025-01-07) is long past, so the badge reads "Overdue"
    assert run.state.name == "Overdue" and run.state.type is StateType.PAUSED
    assert ": waiting for referral_decision · stage referral" in run.state.message
    assert {"authority:redbridge", "team:east", "stage:referral"} <= set(run.tags)
    # suspended without a timeout: Prefect's pause-expirations service has nothing to fail in a
    # case run, which is what makes switching it off safe (docs/scale-out.md: it reads every
    # suspended run every 5 s, an idle server's CPU growing with the open cases)
    assert run.state.state_details.pause_timeout is None

    for event, stage in HISTORY:
        result = ingest.record(accepted.case_ref, event, key=f"test-{event['on']}")
        assert result.stage == stage
        work(ingest.engine, threads=1, until_idle=True)
        run = read_run(run_id)
        assert f"stage:{stage}" in run.tags, (event, run.tags)
        if stage != "closed":
            assert run.state.type is StateType.PAUSED, (event, run.state)
            assert ": waiting for " in run.state.message, (event, run.state)
            assert f" · stage {stage}" in run.state.message, (event, run.state)

    assert run.state.type is StateType.COMPLETED
    with Session(ingest.engine) as session:
        case = load_case(session, accepted.case_ref)
    assert case.flow_seq == case.last_seq == len(HISTORY) + 1

    with get_client(sync_client=True) as client:
        # the same run all along: one run for the case, never a second (this engine instance's
        # runs only: the session's server also holds other tests' cases of the same reference)
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                name={"any_": [case.case_ref]},
                tags={"all_": [instance_tag(instance_id(ingest.engine))]},
            ),
            sort=FlowRunSort.EXPECTED_START_TIME_ASC,
            limit=10,
        )
        assert [r.id for r in runs] == [run_id]
        task_runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id={"any_": [run_id]}),
            sort=TaskRunSort.EXPECTED_START_TIME_ASC,
            limit=200,
        )
        handled = [t.name for t in task_runs if t.name.split(" #")[0] in _EVENT_TYPES]
        # each event's work ran exactly once across nine resumes
        assert sorted(handled) == sorted(
            f"{t} #{i}" for i, t in enumerate(["referral_received", *_history_types()], start=1)
        )
    key = case_artifact_key(instance_id(ingest.engine), case.case_ref)
    assert key.startswith("case-") and key.endswith(case.case_ref.lower())
    artifacts = read_artifacts(key)
    assert artifacts, "the case publishes a timeline artifact"
    # one version per wake-up of the run: the referral and each of the eight events
    assert len(artifacts) == len(HISTORY) + 1
    latest = artifacts[0]
    assert latest.flow_run_id == run_id
    assert "## Timeline" in latest.data and "final_meeting_held" in latest.data
    assert "SYN1" not in latest.data  # the child's reference never leaves the database


_EVENT_TYPES = {
    "referral_received",
    "referral_decision",
    "assessment_completed",
    "cin_meeting_held",
    "plan_distributed",
    "review_held",
    "step_down_panel",
    "final_meeting_held",
}


def _history_types():
    return [event["type"] for event, _ in HISTORY]


def test_a_wake_up_does_its_events_work_in_one_task_run_and_the_ledger_holds_each(
    prefect_server, case_db
):
    """Three events accepted while the run slept: the next wake-up hands all three to one task
    run (named after each), and the ledger records each event's work once."""
    ingest = Ingest.from_settings()
    accepted = ingest.refer(authority="redbridge", child_ref="SYN2", on=date(2025, 1, 6))
    work(ingest.engine, threads=1, until_idle=True)
    for event, _ in HISTORY[:3]:
        ingest.record(accepted.case_ref, event, key=f"batch-{event['on']}")
    work(ingest.engine, threads=1, until_idle=True)

    with Session(ingest.engine) as session:
        case = load_case(session, accepted.case_ref)
        ledger = session.exec(select(CaseWork).where(CaseWork.case_id == case.id)).all()
    assert case.flow_seq == case.last_seq == 4
    assert {row.seq: row.attempts for row in ledger} == {1: 1, 2: 1, 3: 1, 4: 1}
    with get_client(sync_client=True) as client:
        task_runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id={"any_": [case.flow_run_id]}),
            sort=TaskRunSort.EXPECTED_START_TIME_ASC,
            limit=20,
        )
    assert [(t.name, t.state.name) for t in task_runs] == [
        ("referral_received #1", "Completed"),
        ("referral_decision #2, assessment_completed #3, cin_meeting_held #4", "Completed"),
    ]
    assert [event_seqs(t.name) for t in task_runs] == [[1], [2, 3, 4]]
