"""Retention with a real Prefect server (issue 24): `cin retention apply` deletes the destroyed
child's case run and its timeline artifact, leaves the held child's, and the destroyed child's
date of birth is nowhere afterwards: not in the case database's files, not on Prefect."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterTags,
    LogFilter,
    LogFilterFlowRunId,
)
from prefect.client.schemas.sorting import FlowRunSort, LogSort
from prefect.settings import PREFECT_API_URL, PREFECT_LOCAL_STORAGE_PATH, temporary_settings
from sqlmodel import Session, select

from cli.main import main
from engine.executor import local_result_folder
from engine.ingest import Ingest
from engine.worker import work
from flows.case import case_flow
from models.instance import case_artifact_key, event_cache_key, instance_id, instance_tag
from models.tables import DestructionLog
from tests.cli.test_retention import SENTINEL_DOB, policies_with_rule
from tests.flows.prefect_reads import read_artifacts

AS_OF = "2025-03-11"


@pytest.fixture
def results_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The case runs' task results in a folder of this test's own, set for this thread (the
    settings) and for the worker's threads (they read the environment), so both agree whatever
    an earlier test in this process left behind: on fresh clones the case runs wrote their results
    where this thread did not look (two runs of the whole suite, never the file alone)."""
    folder = tmp_path / "results"
    monkeypatch.setenv(PREFECT_LOCAL_STORAGE_PATH.name, str(folder))
    with temporary_settings(updates={PREFECT_LOCAL_STORAGE_PATH: str(folder)}):
        yield folder


def test_apply_deletes_the_destroyed_child_s_run_and_artifacts_and_keeps_the_held_one(
    prefect_server: None,
    results_folder: Path,
    case_db: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CIN_TODAY", "2025-06-02")
    monkeypatch.setenv("CIN_POLICY_DIR", str(policies_with_rule(tmp_path)))
    monkeypatch.setenv("PREFECT_API_URL", str(PREFECT_API_URL.value()))
    ingest = Ingest.from_settings()
    cases = {}
    for child, dob in (("CGONE", SENTINEL_DOB), ("CHELD", "2005-02-03")):
        ingest.set_child(
            authority="redbridge",
            child_ref=child,
            details={"birth_date": dob, "sex": "F", "ethnicity": "WBRI", "upn_unknown": "UN1"},
        )
        cases[child] = ingest.refer(
            authority="redbridge", child_ref=child, on=date(2019, 3, 4), source="2A"
        ).case_ref
        ingest.record(
            cases[child], {"type": "referral_decision", "on": "2019-03-11", "outcome": "nfa"}
        )
    work(ingest.engine, threads=1, until_idle=True)
    instance = instance_id(ingest.engine)
    before = asyncio.run(prefect_texts(instance))
    assert local_result_folder(case_flow) == results_folder
    for case in cases.values():  # the runs, timelines and cached results are there to delete
        assert case in before["flow runs"]
        assert read_artifacts(case_artifact_key(instance, case))
        assert cached_results(instance, case)
    assert main(["hold", "add", "--authority", "redbridge", "--child", "CHELD",
                 "--reason", "inquiry"]) == 0  # fmt: skip
    capsys.readouterr()

    # Prefect unreachable: the database part is done, the Prefect part waits (exit 3) ...
    ui = os.environ.get("CIN_UI_URL")
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    monkeypatch.setenv("CIN_UI_URL", "http://127.0.0.1:9")  # links follow the API
    status = main(["retention", "apply", "--authority", "redbridge", "--as-of", AS_OF])
    out, err = capsys.readouterr()
    assert status == 3 and "Prefect did not answer" in err, err
    assert "1 record(s) destroyed (1 case(s)), 1 held and kept" in out
    assert cases["CGONE"] in asyncio.run(prefect_texts(instance))["flow runs"]  # still there
    # ... and the next run, with Prefect back, finishes it
    monkeypatch.setenv("PREFECT_API_URL", str(PREFECT_API_URL.value()))
    if ui is None:
        monkeypatch.delenv("CIN_UI_URL")
    else:
        monkeypatch.setenv("CIN_UI_URL", ui)
    status = main(["retention", "apply", "--authority", "redbridge", "--as-of", AS_OF])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert "0 record(s) destroyed" in out
    assert "Prefect: the runs and artifacts of 1 destroyed record(s) deleted" in out

    after = asyncio.run(prefect_texts(instance, before["run ids"].split()))
    del after["run ids"]
    gone, held = cases["CGONE"], cases["CHELD"]
    assert gone not in after["flow runs"] and held in after["flow runs"]
    assert not read_artifacts(case_artifact_key(instance, gone))
    assert read_artifacts(case_artifact_key(instance, held))
    assert not cached_results(instance, gone) and cached_results(instance, held)
    with Session(ingest.engine) as session:
        (log,) = session.exec(select(DestructionLog)).all()
    assert log.prefect_pending == [] and log.prefect_done_at is not None
    for where, seen in after.items():
        assert SENTINEL_DOB not in seen, where
    files = b"".join(p.read_bytes() for p in sorted(tmp_path.glob("cin.db*")))
    assert SENTINEL_DOB.encode() not in files and b"CGONE" not in files

    # a further run finds nothing to do, here or on Prefect
    assert main(["retention", "apply", "--authority", "redbridge", "--as-of", AS_OF]) == 0
    assert "0 record(s) destroyed" in capsys.readouterr().out


def cached_results(instance: str, case: str) -> list[Path]:
    folder = local_result_folder(case_flow)  # where the case runs wrote them
    assert folder is not None
    prefix = event_cache_key(instance, case, 0).removesuffix("0")
    return [p for p in folder.iterdir() if p.name.startswith(prefix)] if folder.is_dir() else []


async def prefect_texts(instance: str, runs_of: list[str] | None = None) -> dict[str, str]:
    """This instance's flow runs, and the logs of `runs_of` (run ids; else of those runs), as
    text. The session's Prefect server holds other tests' runs too, some named RED-000001."""
    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[instance_tag(instance)])),
            sort=FlowRunSort.ID_DESC,
            limit=200,
        )
        ids = [UUID(run) for run in runs_of] if runs_of else [run.id for run in runs]
        logs = await client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=ids)),
            limit=200,
            offset=0,
            sort=LogSort.TIMESTAMP_ASC,
        )
    return {
        "flow runs": json.dumps([[r.name, r.tags, r.parameters] for r in runs], default=str),
        "prefect logs": "\n".join(log.message for log in logs),
        "run ids": " ".join(str(run.id) for run in runs),
    }
