"""The deadline monitor's Prefect tasks: the pass, what it shows in the UI, the case runs it wakes.

The pass itself is `notifications.monitor.run_pass`; `one_pass` runs it with this installation's
settings (also what `cin monitor run --without-prefect` and the demo run).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import StateType
from prefect.events import emit_event
from prefect.exceptions import ObjectNotFound
from prefect.flow_runs import resume_flow_run
from sqlmodel import Session, col, select

from models.clock import LONDON
from models.instance import instance_id
from models.runtime import case_engine, crash_point, policies
from models.settings import get_settings
from models.tables import Case
from notifications.monitor import MonitorConfig, PassReport, run_pass

ARTIFACT_KEY = "overdue-by-team"
WAKE_LIMIT = 1000  # case runs woken per pass to refresh their "overdue since" message
# Prefect events of each kind per pass: a first pass over a national backlog would emit ~90,000
EVENT_LIMIT = 5000
_EVENT_NAMESPACE = uuid.UUID("6f1d2c4e-9b1a-4f57-8a51-3c2b7d0e9a11")


def monitor_config(*, digests: bool) -> MonitorConfig:
    settings = get_settings()
    return MonitorConfig(
        ui_url=settings.ui_url,
        smtp_url=settings.smtp_url,
        soon_working_days=settings.due_soon_working_days,
        retry_seconds=settings.alert_retry_seconds,
        digests=digests,
        batch=settings.monitor_batch,
        send_threads=settings.monitor_send_threads,
    )


def one_pass(as_of: date, *, digests: bool) -> PassReport:
    """The pass itself, without Prefect (also what `cin monitor run --without-prefect` runs)."""
    return run_pass(
        case_engine(),
        policies(),
        as_of=as_of,
        now=datetime.now(LONDON),
        config=monitor_config(digests=digests),
        crash=crash_point,
    )


@task(name="monitor-pass", cache_policy=NO_CACHE, persist_result=False)
def monitor_pass(as_of: date, digests: bool) -> PassReport:
    return one_pass(as_of, digests=digests)


@task(name="publish-overdue-table", cache_policy=NO_CACHE, persist_result=False)
def publish(report: PassReport) -> None:
    rows = [
        {
            "authority": authority,
            "team": team,
            "overdue": entry.overdue,
            "oldest overdue since": str(entry.oldest_since or ""),
            "escalated past team manager": entry.escalated_past_team_manager,
            "plans drifting": entry.drift,
        }
        for (authority, team), entry in report.overdue.items()
    ]
    create_table_artifact(
        key=ARTIFACT_KEY,
        table=rows or [{"authority": "-", "team": "-", "overdue": 0}],
        description=(
            f"Overdue work by authority and team on {report.as_of.isoformat()}: "
            f"{sum(e.overdue for e in report.overdue.values())} deadlines past due; "
            f"{len(report.raised)} alerts raised, {report.sent} messages sent, "
            f"{report.failed} failed (retrying)"
        ),
    )
    overdue, escalated = report.newly_overdue, report.escalations()
    if len(overdue) > EVENT_LIMIT or len(escalated) > EVENT_LIMIT:
        get_run_logger().warning(
            "%d deadlines went overdue and %d rungs were told: events for the first %d of each",
            len(overdue),
            len(escalated),
            EVENT_LIMIT,
        )
    for item in overdue[:EVENT_LIMIT]:
        emit_event(
            event="cin.deadline.overdue",
            resource=_resource(item.case_ref, item.authority, item.team),
            payload={
                "deadline": item.key,
                "kind": item.kind,
                "due": item.due.isoformat(),
                "as_of": report.as_of.isoformat(),
            },
            id=uuid.uuid5(_EVENT_NAMESPACE, f"overdue|{item.finding}"),
        )
    instance = instance_id(case_engine())  # two case databases may share one Prefect server
    for raised in escalated[:EVENT_LIMIT]:
        emit_event(
            event="cin.deadline.escalated",
            resource=_resource(raised.case_ref, raised.authority, raised.team),
            payload={
                "deadline": raised.key,
                "kind": raised.kind,
                "level": raised.level,
                "role": raised.role,
                "channel": raised.channel,
                "as_of": report.as_of.isoformat(),
            },
            id=uuid.uuid5(
                _EVENT_NAMESPACE,
                f"escalated|{instance}|{raised.case_ref}/{raised.key}|{raised.level}|"
                f"{raised.channel}",
            ),
        )


@task(name="refresh-case-runs", cache_policy=NO_CACHE, persist_result=False)
def refresh_case_runs(report: PassReport, limit: int = WAKE_LIMIT) -> int:
    """Wake the suspended run of each case whose deadline has just gone overdue, so its state
    message says "overdue since ..." (the run recomputes it and suspends again on a fresh key; a
    `cin worker` executes it). A resume is refused unless the run is still suspended, so this
    never overwrites a delivery that woke the run first."""
    refs = sorted({item.case_ref for item in report.newly_overdue if item.flow_run_id})
    if not refs:
        return 0
    with Session(case_engine()) as session:
        cases = session.exec(select(Case).where(col(Case.case_ref).in_(refs[:limit]))).all()
    woken = 0
    with get_client(sync_client=True) as client:
        for case in cases:
            if case.flow_run_id is None:
                continue
            run = client.read_flow_run(case.flow_run_id)
            if run.state is None or run.state.type is not StateType.PAUSED:
                continue  # working or already woken: it recomputes its message anyway
            try:
                resume_flow_run(case.flow_run_id, run_input={"seq": case.last_seq})
            except (RuntimeError, ObjectNotFound):
                continue  # an event's delivery woke it in between
            woken += 1
    if len(refs) > limit:
        get_run_logger().warning(
            "%d cases went overdue; woke the first %d, the rest show it at their next event",
            len(refs),
            limit,
        )
    return woken


def _resource(case_ref: str, authority: str, team: str | None) -> dict[str, str]:
    return {
        "prefect.resource.id": f"cin.case.{case_ref}",
        "prefect.resource.name": case_ref,
        "cin.authority": authority,
        "cin.team": team or "unallocated",
    }
