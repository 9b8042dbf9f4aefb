"""The reconciler: a scheduled flow that delivers what the outbox still holds and heals case runs.

It is the safety net behind the fast path (delivery right after an event is accepted): after a
Prefect outage, a lost resume or a worker crash, it creates missing runs, resumes suspended runs
that are behind their case's log, reschedules crashed ones and runs whose worker died, and
cancels stray runs (a second run for one case), saying so in its log and its artifact (key
`cin-reconciler-<instance>`, models/instance.py). Runs that it resumes are executed by
`cin worker`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from models.clock import LONDON
from models.instance import instance_id, reconciler_artifact_key
from models.runtime import case_engine, clock
from models.settings import get_settings
from tasks.monitor_work import rename_this_run
from tasks.prefect_retention import prune
from tasks.run_repair import deliver_pending

RECONCILER_FLOW_NAME = "cin-reconciler"
# the timelines of the cases that took an event this recently are pruned each pass: several
# passes (every minute under `cin serve`), so a pass that failed is made good by the next
TIMELINE_WINDOW = timedelta(minutes=10)


def run_name() -> str:
    """The run's name until it is renamed by what it did: the day as the engine's clock says
    (CIN_TODAY in the demo, as the monitor's runs), then the time on the machine's."""
    return f"reconcile {clock().today().isoformat()} {datetime.now(LONDON):%H:%M}"


@flow(name=RECONCILER_FLOW_NAME, flow_run_name=run_name, log_prints=False)
def reconcile(limit: int = 500) -> dict[str, int]:
    report = deliver_pending(case_engine(), limit=limit)
    summary = {
        "delivered": report.delivered,
        "created": report.created,
        "resumed": report.resumed,
        "healed": report.healed,
        "cancelled_strays": report.cancelled,
        "failed": report.failed,
        "pruned_runs": _prune(),
    }
    get_run_logger().info("reconciled: %s", summary)
    did = ", ".join(f"{n} {what}" for what, n in summary.items() if n) or "nothing to do"
    rename_this_run(f"{run_name()}: {did}")
    create_markdown_artifact(
        key=reconciler_artifact_key(instance_id(case_engine())),
        markdown="| "
        + " | ".join(summary)
        + " |\n|"
        + "---|" * len(summary)
        + "\n| "
        + " | ".join(str(v) for v in summary.values())
        + " |\n",
        description="What the last reconciler pass delivered and healed",
    )
    return summary


def _prune() -> int:
    """Prefect retention (tasks/prefect_retention.py); a failure is logged, and the next pass
    tries again: the delivery above matters more."""
    settings, now = get_settings(), datetime.now(UTC)
    try:
        report = prune(
            case_engine(),
            now=now,
            retention_days=settings.prefect_retention_days,
            keep=settings.timeline_versions,
            since=now - TIMELINE_WINDOW,
            pass_retention_days=settings.prefect_pass_retention_days,
        )
    except Exception as error:
        get_run_logger().warning("retention pass failed (%s)", type(error).__name__)
        return 0
    return report.runs_deleted
