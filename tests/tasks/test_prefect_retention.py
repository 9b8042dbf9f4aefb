"""Prefect retention on a real Prefect server with two `cin worker` processes running (issue 23).

Closed cases' runs that ended before the cut-off are deleted with their task runs, inputs and
artifacts; the closed case's run that ended after it, and the open case's suspended run, stay;
the case database is the same, every row of every table, before and after. Two passes at once
delete each run once, and a pass after the server restarted finds nothing more to delete. An open
case's timeline keeps its latest versions only.
"""

from __future__ import annotations

import contextvars
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactCollectionFilter,
    ArtifactCollectionFilterKey,
    ArtifactFilter,
    ArtifactFilterKey,
    FlowRunFilter,
    FlowRunFilterId,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.sorting import ArtifactSort
from prefect.events.worker import EventsWorker
from prefect.exceptions import ObjectNotFound
from prefect.logging.handlers import APILogWorker
from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings
from sqlmodel import Session, select

from engine.ingest import Ingest
from models.instance import case_artifact_key, instance_id
from models.tables import Case
from tasks.prefect_retention import PruneReport, prune_closed_runs, prune_timelines
from tests.cli.cli_harness import snapshot
from tests.flows.processes import PrefectServer, Worker, free_port, wait_until


@pytest.fixture
def server(tmp_path, monkeypatch, prefect_template):
    home = tmp_path / "prefect"
    home.mkdir()
    server = PrefectServer(home, free_port(), template=prefect_template)
    for key, value in server.env().items():
        if key.startswith("PREFECT_"):
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("CIN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CIN_TODAY", "2025-06-02")
    monkeypatch.delenv("CIN_DATABASE_URL", raising=False)
    server.start()
    pinned = {PREFECT_API_URL: server.api_url, PREFECT_API_AUTH_STRING: server.auth_string}
    with temporary_settings(updates=pinned):
        yield server
        # Prefect keeps one events worker and one API-log worker per process, bound to the
        # server they first reached: drain them while this one is pinned, so that a later test
        # in this process (test_case_flow's task-run records) reaches its own server's
        EventsWorker.drain_all(timeout=30)
        APILogWorker.drain_all(timeout=30)
    if server.process and server.process.poll() is None:
        server.kill()


@pytest.fixture
def two_workers(server, tmp_path):
    env = {**server.env(), "CIN_DATA_DIR": str(tmp_path), "CIN_TODAY": "2025-06-02"}
    workers = [Worker(env, tmp_path / f"worker-{i}.log") for i in range(2)]
    for worker in workers:
        worker.start(PREFECT_LOGGING_LEVEL="INFO")  # the runs' line a wake-up: logs to delete
    yield workers
    for worker in workers:
        worker.stop()


def open_case(ingest: Ingest, child: str) -> str:
    ref = ingest.refer(authority="redbridge", child_ref=child, on=date(2025, 1, 6)).case_ref
    return ref


def close(ingest: Ingest, ref: str) -> None:
    ingest.record(ref, {"type": "referral_decision", "on": "2025-01-07", "outcome": "nfa"})


def cases(ingest: Ingest) -> dict[str, Case]:
    with Session(ingest.engine) as session:
        return {c.case_ref: c for c in session.exec(select(Case))}


def run_state(run_id) -> StateType | None:
    with get_client(sync_client=True) as client:
        try:
            state = client.read_flow_run(run_id).state
        except ObjectNotFound:
            return None
    return state.type if state else None


def settled(ingest: Ingest, closed: set[str]) -> bool:
    """Every case's events handled; the closed cases' runs Completed, the others Paused."""
    for ref, case in cases(ingest).items():
        if case.flow_seq != case.last_seq or case.flow_run_id is None:
            return False
        want = StateType.COMPLETED if ref in closed else StateType.PAUSED
        if run_state(case.flow_run_id) is not want:
            return False
    return True


def task_runs_of(run_id) -> int:
    with get_client(sync_client=True) as client:
        found = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id]))
        )
    return len(found)


def logs_of(run_id) -> int:
    with get_client(sync_client=True) as client:
        found = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])), limit=200
        )
    return len(found)


def artifact_versions(key: str) -> list:
    with get_client(sync_client=True) as client:
        return client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            sort=ArtifactSort.CREATED_DESC,
        )


def test_retention_deletes_exactly_the_closed_cases_runs_older_than_the_period(server, two_workers):
    ingest = Ingest.from_settings()
    early = [open_case(ingest, f"RET{i}") for i in range(2)]
    late, still_open = open_case(ingest, "RETLATE"), open_case(ingest, "RETOPEN")
    for ref in early:
        close(ingest, ref)
    wait_until(lambda: settled(ingest, set(early)), 180, "the early closures' runs to complete")
    cutoff = datetime.now(UTC)  # after the early runs ended, before the late one does
    close(ingest, late)
    closed = {*early, late}
    wait_until(lambda: settled(ingest, closed), 180, "the late closure's run to complete")

    runs = {ref: case.flow_run_id for ref, case in cases(ingest).items()}
    instance = instance_id(ingest.engine)
    keys = {ref: case_artifact_key(instance, ref) for ref in runs}
    assert all(task_runs_of(runs[ref]) > 0 for ref in early)  # there is something to delete
    # a run's logs reach the server in batches, after the run's end at the latest
    wait_until(lambda: all(logs_of(runs[r]) > 0 for r in closed), 60, "the runs' logs")
    assert all(artifact_versions(keys[ref]) for ref in runs)
    before = snapshot(ingest.engine)

    # two passes at once, with both workers up: each run is deleted once
    reports, errors = [PruneReport(), PruneReport()], []

    def one_pass(report: PruneReport) -> None:
        try:
            prune_closed_runs(ingest.engine, before=cutoff, report=report)
        except Exception as error:  # the test fails below, naming it
            errors.append(error)

    # each thread in this context: the Prefect settings pinned to the test's server
    passes = [
        threading.Thread(target=contextvars.copy_context().run, args=(one_pass, r)) for r in reports
    ]
    for thread in passes:
        thread.start()
    for thread in passes:
        thread.join(timeout=120)
    assert errors == []
    assert sum(r.runs_deleted for r in reports) >= 2  # a run both saw counts in both

    for ref in early:
        assert run_state(runs[ref]) is None, ref
        assert task_runs_of(runs[ref]) == 0, ref
        assert artifact_versions(keys[ref]) == [], ref
    # the server deletes a deleted run's logs in the background (its docket)
    for ref in early:
        wait_until(lambda ref=ref: logs_of(runs[ref]) == 0, 60, "the runs' logs to go")
    assert logs_of(runs[late]) > 0
    assert run_state(runs[late]) is StateType.COMPLETED  # closed, but within the period
    assert run_state(runs[still_open]) is StateType.PAUSED  # open: never deleted
    assert artifact_versions(keys[late]) and artifact_versions(keys[still_open])
    assert snapshot(ingest.engine) == before  # the case database is untouched

    # again, after the server restarted: nothing left to delete; the default period (90 days)
    # deletes nothing either
    server.kill()
    server.start()
    assert prune_closed_runs(ingest.engine, before=cutoff).runs_deleted == 0
    assert prune_closed_runs(ingest.engine, before=cutoff - timedelta(days=90)).runs_deleted == 0
    assert run_state(runs[late]) is StateType.COMPLETED
    assert snapshot(ingest.engine) == before


def test_an_open_cases_timeline_keeps_its_latest_versions(server, two_workers):
    ingest = Ingest.from_settings()
    ref = open_case(ingest, "TL1")
    ingest.record(ref, {"type": "referral_decision", "on": "2025-01-07", "outcome": "assessment"})
    wait_until(lambda: settled(ingest, set()), 180, "the run to suspend")
    for day in range(8, 13):  # a wake-up (and a timeline version) per event
        ingest.record(ref, {"type": "visit_recorded", "on": f"2025-01-{day:02d}"})
        wait_until(lambda: settled(ingest, set()), 180, "the run to suspend")
    key = case_artifact_key(instance_id(ingest.engine), ref)
    versions = artifact_versions(key)
    assert len(versions) >= 6  # the first wake-up, and one a visit
    before = snapshot(ingest.engine)

    since = datetime.now(UTC) - timedelta(hours=1)
    report = prune_timelines(ingest.engine, keep=3, since=since)
    kept = artifact_versions(key)
    assert [v.id for v in kept] == [v.id for v in versions[:3]]  # the newest three
    assert report.artifacts_deleted == len(versions) - 3
    with get_client(sync_client=True) as client:
        (latest,) = client.read_latest_artifacts(
            artifact_filter=ArtifactCollectionFilter(key=ArtifactCollectionFilterKey(any_=[key]))
        )
    assert latest.latest_id == versions[0].id  # the key's page still shows the latest
    assert run_state(cases(ingest)[ref].flow_run_id) is StateType.PAUSED
    assert snapshot(ingest.engine) == before


def _pass_run(client, deployment_id, final, artifact: str | None = None):
    """A run of a pass deployment, taken through Running to `final` (None: left Running)."""
    from prefect.client.schemas.actions import ArtifactCreate
    from prefect.states import Running

    run = client.create_flow_run_from_deployment(deployment_id)
    client.set_flow_run_state(run.id, Running(), force=True)
    if final is not None:
        client.set_flow_run_state(run.id, final, force=True)
    if artifact:
        client.create_artifact(
            ArtifactCreate(key=artifact, type="markdown", data="a pass", flow_run_id=run.id)
        )
    return run.id


def test_the_passes_runs_are_deleted_after_their_period_each_deployments_latest_kept(server):
    """The reconciler's and monitor's own runs (about 1,500 a day under `cin serve`): those of
    this instance's two deployments that ended before the cut-off are deleted with their
    artifacts, except each deployment's latest ended run; a run still going, a run after the
    cut-off and another instance's runs stay, and the case database is not touched."""
    from prefect.states import Cancelled, Completed, Failed

    from models.instance import monitor_deployment_name, reconciler_deployment_name
    from tasks.prefect_retention import prune_pass_runs

    ingest = Ingest.from_settings()
    open_case(ingest, "PASS1")
    instance = instance_id(ingest.engine)
    before = snapshot(ingest.engine)
    with get_client(sync_client=True) as client:
        reconciler_flow = client.create_flow_from_name("cin-reconciler")
        monitor_flow = client.create_flow_from_name("cin-deadline-monitor")
        reconciler = client.create_deployment(
            flow_id=reconciler_flow, name=reconciler_deployment_name(instance)
        )
        monitor = client.create_deployment(
            flow_id=monitor_flow, name=monitor_deployment_name(instance)
        )
        other = client.create_deployment(flow_id=reconciler_flow, name="reconciler-another")
        old = [
            _pass_run(client, reconciler, Completed(), artifact="cin-reconciler-x"),
            _pass_run(client, reconciler, Failed()),
            _pass_run(client, monitor, Completed(), artifact="overdue-cases-x"),
            _pass_run(client, monitor, Cancelled()),
        ]
        still_running = _pass_run(client, reconciler, None)
        monitor_latest = _pass_run(client, monitor, Completed(), artifact="overdue-cases-x")
        another = _pass_run(client, other, Completed())
        cutoff = datetime.now(UTC)
        recent = _pass_run(client, reconciler, Completed(), artifact="cin-reconciler-x")
    assert [len(artifact_versions(k)) for k in ("cin-reconciler-x", "overdue-cases-x")] == [2, 2]

    report = prune_pass_runs(ingest.engine, before=cutoff)

    assert report.pass_runs_deleted == 4 and report.runs_deleted == 0
    assert [run_state(run) for run in old] == [None] * 4
    assert run_state(still_running) is StateType.RUNNING
    assert run_state(monitor_latest) is StateType.COMPLETED  # old, but the monitor's latest
    assert run_state(another) is StateType.COMPLETED  # another instance's: not this one's
    assert run_state(recent) is StateType.COMPLETED
    # the deleted runs' artifact versions went with them; the kept runs' stay
    assert [len(artifact_versions(k)) for k in ("cin-reconciler-x", "overdue-cases-x")] == [1, 1]
    assert report.artifacts_deleted == 2
    assert prune_pass_runs(ingest.engine, before=cutoff).pass_runs_deleted == 0  # nothing left
    assert snapshot(ingest.engine) == before
