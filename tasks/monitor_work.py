"""The deadline monitor's Prefect tasks: the pass, what it shows in the UI, the case runs it wakes.

The pass itself is `notifications.monitor.run_pass`; `one_pass` (notifications/monitor_pass.py,
which imports no Prefect) runs it with this installation's settings (also what `cin monitor run
--without-prefect` and the demo run).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.events import emit_event
from prefect.runtime import flow_run
from sqlmodel import Session

from models.alerts.dispatch import Standing, outbox_standing
from models.clock import LONDON
from models.instance import instance_id, monitor_artifact_key, overdue_cases_artifact_key
from models.runtime import case_engine, policies
from models.settings import get_settings
from notifications.messages import case_link, working_days
from notifications.monitor import PassReport
from notifications.monitor_pass import one_pass as one_pass  # re-exported: flows/monitor.py
from notifications.overdue_view import OverdueRow, overdue_rows
from tasks.case_labels import relabel_runs

# Prefect events of each kind per pass: a first pass over a national backlog would emit ~90,000
EVENT_LIMIT = 5000
_EVENT_NAMESPACE = uuid.UUID("6f1d2c4e-9b1a-4f57-8a51-3c2b7d0e9a11")


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
    with Session(case_engine()) as session:
        standing = outbox_standing(session)
    create_table_artifact(
        key=monitor_artifact_key(instance_id(case_engine())),
        table=rows or [{"authority": "-", "team": "-", "overdue": 0}],
        description=caption(report, standing),
    )
    publish_overdue_cases(report.as_of)
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


OVERDUE_CASES_SHOWN = 2000  # rows in the table; the caption says when there are more
CAPTION_ROWS = 300  # of those, in the caption's markdown (the table's search finds the rest)


def publish_overdue_cases(as_of: date) -> None:
    """Every overdue deadline, the latest first, as the table `cin deadlines --overdue` prints
    (notifications/overdue_view.py): the operator's morning list. Its search box filters by any
    cell (a team, an authority, a reference); each reference links to the case's page. The same
    table heads the caption in markdown, so the key's page (`/artifacts/key/overdue-cases-...`)
    and its card on the Artifacts page show it at once. Case runs are not woken for it."""
    engine = case_engine()
    instance = instance_id(engine)
    ui = get_settings().ui_url
    with Session(engine) as session:
        rows = overdue_rows(session, policies(), as_of)
    shown = rows[:OVERDUE_CASES_SHOWN]
    more = (
        f" (the first {len(shown)} shown: `cin deadlines --overdue`)"
        if len(rows) > len(shown)
        else ""
    )
    caption = (
        f"Overdue on {as_of.isoformat()}: {len(rows)} deadlines in "
        f"{len({r.case_ref for r in rows})} cases, the latest first{more}. "
        "Working days under each authority's calendar; the rung is the highest manager the "
        "monitor has reached. The version's own page (its id below) has the table with a "
        "search box: filter by team, authority or reference."
    )
    log_overdue(rows, as_of)
    create_table_artifact(
        key=overdue_cases_artifact_key(instance),
        table=[_overdue_cell(row, ui, instance) for row in shown]
        or [{"case": "-", "team": "-", "waits for": "nothing overdue"}],
        description=f"{caption}\n\n{overdue_markdown(shown[:CAPTION_ROWS], ui, instance)}",
    )


OVERDUE_LOG_LINES = 200  # the monitor run's Logs tab lists this many; the artifact all of them


def log_overdue(rows: list[OverdueRow], as_of: date) -> None:
    """The overdue list in the monitor run's Logs tab, the tab its page opens on: one click on
    the monitor's run in the runs list shows it (the run list itself shows no message)."""
    logger = get_run_logger()
    logger.info(
        "Overdue on %s: %d deadlines in %d cases, the latest first (table with links and "
        "search: this run's Artifacts tab, overdue-cases-...)",
        as_of.isoformat(), len(rows), len({r.case_ref for r in rows}),
    )  # fmt: skip
    for rank, row in enumerate(rows[:OVERDUE_LOG_LINES], start=1):
        logger.info(
            "#%d %s · %s · %s · waits for %s · due %s · %s overdue · rung %s",
            rank, row.case_ref, row.authority, row.team or "unallocated", row.key,
            row.due.isoformat(), working_days(row.working_days_overdue), row.rung or "-",
        )  # fmt: skip
    if len(rows) > OVERDUE_LOG_LINES:
        logger.info("... and %d more: `cin deadlines --overdue`", len(rows) - OVERDUE_LOG_LINES)


def _overdue_cell(row: OverdueRow, ui: str, instance: str) -> dict[str, object]:
    return {
        "case": f"[{row.case_ref}]({case_link(ui, row.case_ref, instance)})",
        "authority": row.authority,
        "team": row.team or "unallocated",
        "waits for": row.key,
        "due": row.due.isoformat(),
        "working days overdue": row.working_days_overdue,
        "highest rung told": row.rung or "-",
    }


def overdue_markdown(rows: list[OverdueRow], ui: str, instance: str) -> str:
    if not rows:
        return "Nothing is overdue."
    lines = [
        "| case | authority | team | waits for | due | working days overdue | highest rung told |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        cell = _overdue_cell(row, ui, instance)
        lines.append("| " + " | ".join(str(v) for v in cell.values()) + " |")
    return "\n".join(lines)


@task(name="label-overdue-runs", cache_policy=NO_CACHE, persist_result=False)
def refresh_case_runs(report: PassReport) -> int:
    """Label every overdue case's run as overdue in the runs list (tags, state name and message),
    and unlabel runs whose work was met since; returns the runs written to (tasks/case_labels)."""
    with get_client(sync_client=True) as client:
        return relabel_runs(
            client, case_engine(), report.as_of, report.overdue_cases, report.changed_cases()
        )


def rename_this_run(name: str) -> None:
    """Name the current flow run by what it did (its name shows in the runs list)."""
    run_id = flow_run.get_id()
    if run_id is None:
        return
    with get_client(sync_client=True) as client:
        client.update_flow_run(uuid.UUID(str(run_id)), name=name[:200])


def pass_name(report: PassReport, summary: dict[str, int]) -> str:
    """`monitor 2025-06-02 07:00: 12 overdue, 5 alerts raised, 3 sent`."""
    at = datetime.now(LONDON).strftime("%H:%M")
    overdue = sum(e.overdue for e in report.overdue.values())
    failed = f", {report.failed} failed" if report.failed else ""
    labelled = summary.get("case_runs_labelled", 0)
    return (
        f"monitor {report.as_of.isoformat()} {at}: {overdue} overdue, "
        f"{summary['alerts_raised']} alerts raised, {report.sent} sent{failed}, "
        f"{labelled} run{'' if labelled == 1 else 's'} relabelled"
    )


def caption(report: PassReport, standing: Standing) -> str:
    """What stands overall, then what this pass did: a pass with nothing new to say sent
    nothing, which must not read as if nobody was ever told."""
    overdue = sum(e.overdue for e in report.overdue.values())
    teams = sum(1 for e in report.overdue.values() if e.overdue)
    held = (
        f"; {standing.held} alerts held: nobody holds the role yet (`cin monitor status`)"
        if standing.held
        else ""
    )
    failing = f" ({standing.failing} failing, retried)" if standing.failing else ""
    return (
        f"On {report.as_of.isoformat()}: {overdue} deadlines past due in {teams} teams; "
        f"{standing.waiting} messages waiting to be sent{failing}{held}. This pass: "
        f"{len(report.newly_overdue)} newly overdue, {len(report.raised)} new alerts "
        f"({len(report.escalations())} to a manager), {report.sent} messages sent, "
        f"{report.failed} failed. Managers already told are not told again (see their "
        "digests and the alerts in `cin monitor status`)."
    )


def _resource(case_ref: str, authority: str, team: str | None) -> dict[str, str]:
    return {
        "prefect.resource.id": f"cin.case.{case_ref}",
        "prefect.resource.name": case_ref,
        "cin.authority": authority,
        "cin.team": team or "unallocated",
    }
