"""Deleting a destroyed child's case runs and their artifacts on Prefect (`cin retention apply`).

Idempotent: what is gone already is skipped, so a re-run after a crash (or with Prefect back)
finishes the job. The runs are found by the run id the case recorded and by name (the case
reference) with this instance's tag, so a run the engine re-created after a repair goes too;
artifacts by the case's timeline key and by those runs. Artifacts are deleted first: Prefect keeps
an artifact when its run is deleted.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
    FlowRunFilter,
    FlowRunFilterName,
    FlowRunFilterTags,
)
from prefect.exceptions import ObjectNotFound

from models.instance import case_artifact_key, event_cache_key, instance_tag
from tasks.prefect_retention import delete_artifacts


def forget_on_prefect(instance: str) -> Callable[[list[dict[str, str]]], None]:
    def forget(pending: list[dict[str, str]]) -> None:
        with get_client(sync_client=True) as client:
            for item in pending:
                forget_case(client, instance, item["case_ref"], item.get("flow_run_id") or None)
                forget_cached_results(instance, item["case_ref"])

    return forget


def forget_case(
    client: SyncPrefectClient, instance: str, case_ref: str, flow_run_id: str | None
) -> None:
    by_name = FlowRunFilter(
        name=FlowRunFilterName(any_=[case_ref]),
        tags=FlowRunFilterTags(all_=[instance_tag(instance)]),
    )
    runs = {run.id for run in client.read_flow_runs(flow_run_filter=by_name)}
    if flow_run_id:
        runs.add(uuid.UUID(flow_run_id))
    filters = [ArtifactFilter(key=ArtifactFilterKey(any_=[case_artifact_key(instance, case_ref)]))]
    if runs:
        filters.append(ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=sorted(runs))))
    for where in filters:  # a page at a time: a long case's timeline has many versions
        delete_artifacts(client, where)
    for run in sorted(runs):
        try:
            client.delete_flow_run(run)
        except ObjectNotFound:
            pass


def forget_cached_results(instance: str, case_ref: str) -> int:
    """The case's task results persisted in Prefect's local result storage on this machine (the
    event task's cache, tasks/case_work.py): their file names carry the case reference. A
    worker on another machine keeps its own; a configured storage block keeps its own too
    (docs/child-record.md). Returns how many files were deleted."""
    from engine.executor import local_result_folder  # where this process's case runs write
    from flows.case import case_flow

    folder = local_result_folder(case_flow)
    if folder is None:
        return 0
    prefix = event_cache_key(instance, case_ref, 0).removesuffix("0")
    pattern = re.compile(re.escape(prefix) + r"\d+")
    gone = 0
    if folder.is_dir():
        for path in folder.iterdir():
            if pattern.fullmatch(path.name) and path.is_file():
                path.unlink(missing_ok=True)
                gone += 1
    return gone
