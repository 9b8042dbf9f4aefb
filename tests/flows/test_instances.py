"""Engine instances on one Prefect server (issue 9): two case databases with the same case
references stay apart (runs, artifacts: the case timelines, the monitor's, the report's and the
reconciler's; cache), a database recreated in the same folder is a new instance, and concurrent
deliveries for one case converge on one run."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.sorting import FlowRunSort
from sqlmodel import Session, select

import models.database
import models.runtime
from engine.delivery import deliver_case
from engine.ingest import Ingest
from engine.worker import case_deployment_id, work
from flows.monitor import deadline_monitor
from flows.reconciler import reconcile
from models.instance import (
    case_artifact_key,
    instance_id,
    instance_tag,
    monitor_artifact_key,
    reconciler_artifact_key,
    report_artifact_key,
)
from models.tables import Case, CaseWork
from tests.flows.prefect_reads import read_artifacts

S47 = {"type": "referral_decision", "on": "2025-01-07", "outcome": "strategy_discussion"}


def use(monkeypatch: pytest.MonkeyPatch, folder: Path) -> Ingest:
    monkeypatch.setenv("CIN_DATA_DIR", str(folder))
    monkeypatch.delenv("CIN_DATABASE_URL", raising=False)
    return Ingest.from_settings()


def open_s47_case(ingest: Ingest) -> str:
    ref = ingest.refer(authority="redbridge", child_ref="SYN1", on=date(2025, 1, 6)).case_ref
    ingest.record(ref, S47)
    work(ingest.engine, threads=1, until_idle=True)
    return ref


def ledger(ingest: Ingest, ref: str) -> dict[int, tuple[str | None, int]]:
    with Session(ingest.engine) as session:
        case = session.exec(select(Case).where(Case.case_ref == ref)).one()
        rows = session.exec(select(CaseWork).where(CaseWork.case_id == case.id)).all()
    return {r.seq: (r.work, r.attempts) for r in rows}


def run_of(ingest: Ingest, ref: str):
    with Session(ingest.engine) as session:
        run_id = session.exec(select(Case.flow_run_id).where(Case.case_ref == ref)).one()
    with get_client(sync_client=True) as client:
        return client.read_flow_run(run_id)


def test_two_case_databases_with_the_same_references_stay_apart(
    prefect_server, tmp_path, monkeypatch
):
    a = use(monkeypatch, tmp_path / "a")
    ref_a = open_s47_case(a)
    run_a = run_of(a, ref_a)

    b = use(monkeypatch, tmp_path / "b")
    ref_b = open_s47_case(b)
    assert ref_a == ref_b  # the same reference in both databases
    run_b = run_of(b, ref_b)
    ids = instance_id(a.engine), instance_id(b.engine)
    assert ids[0] != ids[1]

    # runs: one each, tagged with its own instance; B's worker left A's run alone
    assert run_a.id != run_b.id
    assert instance_tag(ids[0]) in run_a.tags and instance_tag(ids[1]) in run_b.tags
    assert run_a.deployment_id != run_b.deployment_id
    again = run_of(a, ref_a)
    assert again.state.type is StateType.PAUSED and again.state.id == run_a.state.id
    # cache: B's escalation did its own work, not A's cached result
    escalation = (2, ("strategy discussion convened", 1))
    assert escalation in ledger(a, ref_a).items() and escalation in ledger(b, ref_b).items()
    # artifacts: each database's timeline under its own key, written by its own run
    for ingest, run in ((a, run_a), (b, run_b)):
        versions = read_artifacts(case_artifact_key(instance_id(ingest.engine), ref_a))
        assert versions and {v.flow_run_id for v in versions} == {run.id}

    # the monitor's, the report's and the reconciler's artifacts: each instance's under its own
    # key, written by that instance's own monitor and reconciler runs (B first, then A)
    monitor_runs, reconciler_runs = {}, {}
    for name in ("b", "a"):
        monkeypatch.setenv("CIN_DATA_DIR", str(tmp_path / name))
        monitor_runs[name] = deadline_monitor(as_of=date(2025, 1, 8), return_state=True)
        reconciler_runs[name] = reconcile(return_state=True)
    for name, ingest in (("a", a), ("b", b)):
        instance = instance_id(ingest.engine)
        for key, run in (
            (monitor_artifact_key(instance), monitor_runs[name]),
            (report_artifact_key(instance), monitor_runs[name]),
            (reconciler_artifact_key(instance), reconciler_runs[name]),
        ):
            versions = read_artifacts(key)
            assert len(versions) == 1, key
            assert versions[0].flow_run_id == run.state_details.flow_run_id, key


def test_a_database_recreated_in_the_same_folder_is_a_new_instance(
    prefect_server, tmp_path, monkeypatch
):
    first = use(monkeypatch, tmp_path)
    ref = open_s47_case(first)
    old_instance, old_run = instance_id(first.engine), run_of(first, ref).id
    first.engine.dispose()
    for path in tmp_path.glob("cin.db*"):
        path.unlink()
    models.database.get_engine.cache_clear()
    models.runtime._engine.cache_clear()

    second = use(monkeypatch, tmp_path)
    assert open_s47_case(second) == ref
    assert instance_id(second.engine) != old_instance
    assert run_of(second, ref).id != old_run
    # its s47 escalation ran (before issue 9 it came back Cached from the old database's run)
    assert ledger(second, ref)[2] == ("strategy discussion convened", 1)


def count_runs(ingest: Ingest, ref: str) -> int:
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name={"any_": [ref]}),
            sort=FlowRunSort.EXPECTED_START_TIME_ASC,
            limit=50,
        )
    mine = case_deployment_id(ingest.engine)
    return sum(1 for r in runs if r.deployment_id == mine)


@pytest.mark.parametrize("keyed", [True, False], ids=["idempotency-key", "no-key"])
def test_concurrent_deliveries_for_one_case_converge_on_one_run(
    prefect_server, tmp_path, monkeypatch, keyed
):
    ingest = use(monkeypatch, tmp_path)
    case_deployment_id(ingest.engine)
    monkeypatch.setenv("CIN_RUN_IDEMPOTENCY", "true" if keyed else "false")
    quiet = Ingest(ingest.engine, ingest.policies, deliver=False)
    ref = quiet.refer(authority="redbridge", child_ref="SYN8", on=date(2025, 1, 6)).case_ref
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: deliver_case(ingest.engine, ref), range(8)))
    if keyed:
        assert count_runs(ingest, ref) == 1
    else:
        # what the key prevents: each delivery made a run of its own
        assert count_runs(ingest, ref) > 1
