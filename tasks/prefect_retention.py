"""Prefect keeps the live picture, not everything for ever (issue 23 part 3).

The case database is the record; Prefect shows the open work. A closed case's run, its task runs
(deleted with it by Prefect's own foreign keys), its inputs, logs and artifacts are deleted once
the run has been over for the retention period (`CIN_PREFECT_RETENTION_DAYS`, an engine default:
models/settings.py says why), and an open case's timeline keeps its latest versions only
(`CIN_TIMELINE_VERSIONS`). Nothing here writes to the case database; it is only read, to make
sure a run is its case's and the case is closed. A run is deleted only when all of these hold:
it is this instance's case deployment's, Completed (a case run completes only when its case
closes: flows/case.py), ended before the cut-off, and its case is closed in the case database with
every event handled. A closed case never opens again (nothing follows a closure; a new referral
opens a new case), so a deleted run is never wanted back.

The engine's own scheduled passes leave runs too: the reconciler's every minute and the monitor's
every 15 minutes are about 1,500 runs a day, each with its states, logs and an artifact version,
for ever, whatever the caseload. Their runs that ended more than `CIN_PREFECT_PASS_RETENTION_DAYS`
ago (an engine default: models/settings.py) are deleted with their artifacts, except each
deployment's latest ended run (the monitor's is the operators' overdue list, one click from the
runs list: docs/operators.md). Only this instance's reconciler and monitor deployments' runs, and
only in a final state (Completed, Failed, Cancelled, Crashed): a pass still running is never
touched. What a pass did is in the case database (alerts, deliveries), not only in its run.

Safe with several workers and passes at once, and across a restarted server: every step is a
delete of something that is either there or already gone (a 404 counts as done), the artifacts
go before their run, so an interrupted pass leaves a run that the next pass finds again.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    ArtifactFilterKey,
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterEndTime,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.client.schemas.sorting import ArtifactSort, FlowRunSort
from prefect.exceptions import ObjectNotFound
from prefect.types import DateTime
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from models.instance import case_artifact_key, monitor_deployment_name, reconciler_deployment_name
from models.tables import Case
from tasks.outbox import _deployment

log = logging.getLogger("cin.retention")

PAGE = 200  # the API's largest page
# a pass run in one of these is over; one Scheduled, Pending, Running or Paused is not touched
FINAL = [StateType.COMPLETED, StateType.FAILED, StateType.CANCELLED, StateType.CRASHED]
# the engine's scheduled flows (flows/reconciler.py, flows/monitor.py): named here, not imported,
# so that retention does not load the flows it prunes
PASS_FLOWS = {"cin-reconciler": reconciler_deployment_name,
              "cin-deadline-monitor": monitor_deployment_name}  # fmt: skip


@dataclass
class PruneReport:
    runs_deleted: int = 0
    artifacts_deleted: int = 0  # of deleted runs, and old timeline versions
    runs_kept: int = 0  # ended before the cut-off, but not (yet) a closed case's run
    pass_runs_deleted: int = 0  # the reconciler's and the monitor's own runs

    def summary(self) -> str:
        return (
            f"deleted {self.runs_deleted} closed cases' runs, {self.pass_runs_deleted} "
            f"reconciler and monitor runs and {self.artifacts_deleted} artifact versions; "
            f"kept {self.runs_kept} ended runs whose case is not closed"
        )


def prune_closed_runs(
    engine: Engine, *, before: datetime, limit: int = 1000, report: PruneReport | None = None
) -> PruneReport:
    """Delete up to `limit` closed cases' runs that ended before `before`, with their artifacts
    (their task runs, inputs and logs go with the run)."""
    report = report or PruneReport()
    instance, deployment_id = _deployment(engine)
    kept = 0  # this call's: the runs it keeps stay, so the next page starts after them
    with get_client(sync_client=True) as client:
        while report.runs_deleted < limit:
            runs = _ended_runs(client, deployment_id, before, offset=kept)
            if not runs:
                break
            closed = _closed_cases(engine, runs)
            for run in runs:
                case_ref = str(run.parameters.get("case_ref", ""))
                if case_ref not in closed:
                    kept += 1
                    report.runs_kept += 1
                    continue
                # a run that is not its case's run (a stray, cancelled) never gets here: it is
                # not Completed; one that is another's closed run is deleted as its own case's
                report.artifacts_deleted += delete_artifacts(
                    client,
                    ArtifactFilter(
                        key=ArtifactFilterKey(any_=[case_artifact_key(instance, case_ref)])
                    ),
                )
                report.artifacts_deleted += _delete_run(client, run.id)
                report.runs_deleted += 1
                if report.runs_deleted >= limit:
                    break
    if report.runs_deleted:
        log.info("retention: %s", report.summary())
    return report


def prune_timelines(
    engine: Engine,
    *,
    keep: int,
    since: datetime,
    report: PruneReport | None = None,
) -> PruneReport:
    """Keep the latest `keep` versions of the timeline of every open case that took an event
    since `since` (a version is added per wake-up; the cases not touched since are as the last
    pass left them, so a pass costs reads in proportion to the work done, not to the cases)."""
    report = report or PruneReport()
    instance, _ = _deployment(engine)
    with Session(engine) as session:
        refs = list(
            session.exec(
                select(Case.case_ref).where(
                    col(Case.updated_at) >= since.astimezone(UTC),
                    Case.stage != "closed",
                )
            )
        )
    with get_client(sync_client=True) as client:
        for ref in refs:
            key = ArtifactFilterKey(any_=[case_artifact_key(instance, ref)])
            report.artifacts_deleted += delete_artifacts(
                client, ArtifactFilter(key=key), offset=keep
            )
    return report


def _ended_runs(
    client: SyncPrefectClient, deployment_id: uuid.UUID, before: datetime, offset: int
) -> list[FlowRun]:
    return client.read_flow_runs(
        flow_run_filter=FlowRunFilter(
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.COMPLETED])),
            end_time=FlowRunFilterEndTime(before_=DateTime.fromisoformat(before.isoformat())),
        ),
        deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id])),
        sort=FlowRunSort.EXPECTED_START_TIME_ASC,
        offset=offset,
        limit=PAGE,
    )


def _closed_cases(engine: Engine, runs: list[FlowRun]) -> set[str]:
    """Of the runs' cases, those closed with every event handled (read, never written)."""
    refs = [str(r.parameters.get("case_ref", "")) for r in runs]
    with Session(engine) as session:
        return set(
            session.exec(
                select(Case.case_ref).where(
                    col(Case.case_ref).in_(refs),
                    Case.stage == "closed",
                    col(Case.flow_seq) == col(Case.last_seq),
                )
            )
        )


def _delete_run(client: SyncPrefectClient, run_id: uuid.UUID) -> int:
    """Delete a run's artifacts, then the run (its task runs, inputs and logs go with it); the
    artifacts it had. Either may be gone already: another pass deleted it first."""
    deleted = delete_artifacts(
        client, ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
    )
    try:
        client.delete_flow_run(run_id)
    except ObjectNotFound:
        pass  # another pass deleted it first
    return deleted


def delete_artifacts(client: SyncPrefectClient, where: ArtifactFilter, offset: int = 0) -> int:
    """Delete the artifacts `where` matches, all or (with `offset`) all but the newest few."""
    deleted = 0
    while True:
        found = client.read_artifacts(
            artifact_filter=where, sort=ArtifactSort.CREATED_DESC, offset=offset, limit=PAGE
        )
        if not found:
            return deleted
        for artifact in found:
            try:
                client.delete_artifact(artifact.id)
            except ObjectNotFound:
                continue  # another pass deleted it first
            deleted += 1
        if len(found) < PAGE:
            return deleted


def prune_pass_runs(
    engine: Engine, *, before: datetime, limit: int = 1000, report: PruneReport | None = None
) -> PruneReport:
    """Delete up to `limit` of this instance's reconciler and monitor runs that ended before
    `before`, with their artifacts; each deployment's latest ended run stays. The limit, as the
    closed runs', keeps one reconciler pass short when an installation that kept every pass
    first meets this (a year of them is ~550,000): it catches up a thousand a pass."""
    from models.instance import instance_id

    report = report or PruneReport()
    instance = instance_id(engine)
    ended = FlowRunFilterState(type=FlowRunFilterStateType(any_=FINAL))
    with get_client(sync_client=True) as client:
        for flow_name, deployment_name in PASS_FLOWS.items():
            try:
                deployment = client.read_deployment_by_name(
                    f"{flow_name}/{deployment_name(instance)}"
                )
            except ObjectNotFound:
                continue  # not served on this server (yet): nothing of it to delete
            where = DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id]))
            latest = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(state=ended),
                deployment_filter=where,
                sort=FlowRunSort.END_TIME_DESC,
                limit=1,
            )
            kept = {run.id for run in latest}
            while report.pass_runs_deleted < limit:
                runs = client.read_flow_runs(
                    flow_run_filter=FlowRunFilter(
                        state=ended,
                        end_time=FlowRunFilterEndTime(
                            before_=DateTime.fromisoformat(before.isoformat())
                        ),
                    ),
                    deployment_filter=where,
                    sort=FlowRunSort.EXPECTED_START_TIME_ASC,
                    limit=PAGE,
                )
                runs = [run for run in runs if run.id not in kept]
                if not runs:
                    break
                for run in runs[: limit - report.pass_runs_deleted]:
                    report.artifacts_deleted += _delete_run(client, run.id)
                    report.pass_runs_deleted += 1
    if report.pass_runs_deleted:
        log.info("retention: %s", report.summary())
    return report


def prune(
    engine: Engine,
    *,
    now: datetime,
    retention_days: float,
    keep: int,
    since: datetime,
    pass_retention_days: float | None = None,
) -> PruneReport:
    """All three: closed cases' runs past the retention period, the timelines' old versions, and
    (unless `pass_retention_days` is None) the reconciler's and monitor's runs past theirs."""
    report = prune_closed_runs(engine, before=now - timedelta(days=retention_days))
    if pass_retention_days is not None:
        prune_pass_runs(engine, before=now - timedelta(days=pass_retention_days), report=report)
    return prune_timelines(engine, keep=keep, since=since, report=report)
