"""The deadline monitor: a scheduled deployment (every 15 minutes) and `cin monitor run`.

Each run makes one pass (notifications/monitor.py): it finds what is due soon, due today and
overdue with an indexed query, marks it, raises alerts up each authority's escalation ladder,
composes the day's digests and sends what is waiting. Then it shows operations staff what it
found: a table artifact of overdue work by authority and team (key `overdue-by-team-<instance>`,
models/instance.py), and Prefect
events automations can use: `cin.deadline.overdue` when a deadline first goes past due and
`cin.deadline.escalated` when a rung of the ladder is told. Events carry case references only.
"""

from __future__ import annotations

from datetime import date, datetime

from prefect import flow, get_run_logger
from prefect.runtime import flow_run

from models.clock import LONDON
from models.runtime import clock
from models.settings import get_settings
from tasks.monitor_work import (
    monitor_pass,
    one_pass,
    pass_name,
    publish,
    refresh_case_runs,
    rename_this_run,
)
from tasks.report_work import publish_council_report

__all__ = ["MONITOR_FLOW_NAME", "deadline_monitor", "one_pass"]

MONITOR_FLOW_NAME = "cin-deadline-monitor"


def digests_due_now() -> bool:
    """The scheduled runs compose digests from the configured hour (London) on."""
    return datetime.now(LONDON).hour >= get_settings().digest_hour


def run_name() -> str:
    """The run's name until it is renamed by what it did: `monitor 2025-06-02 07:00`."""
    as_of = flow_run.get_parameters().get("as_of")
    now = datetime.now(LONDON)
    day = as_of.isoformat() if isinstance(as_of, date) else str(as_of or clock().today())
    return f"monitor {day} {now:%H:%M}"


@flow(name=MONITOR_FLOW_NAME, flow_run_name=run_name, log_prints=False)
def deadline_monitor(as_of: date | None = None, digests: bool | None = None) -> dict[str, int]:
    """One monitor pass. `as_of` defaults to today (London; CIN_TODAY pins it); a given date
    composes that day's digests, the schedule composes them from the digest hour on."""
    day = as_of or clock().today()
    compose = digests if digests is not None else (as_of is not None or digests_due_now())
    report = monitor_pass(day, compose)
    publish(report)
    publish_council_report(day)  # the report's headline table, once a day (cached on the day)
    summary = {**report.summary(), "case_runs_labelled": refresh_case_runs(report)}
    rename_this_run(pass_name(report, summary))
    get_run_logger().info("monitor %s: %s", day.isoformat(), summary)
    return summary
