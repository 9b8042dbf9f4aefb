"""The reconciler: a scheduled flow that delivers what the outbox still holds and heals case runs.

It is the safety net behind the fast path (delivery right after an event is accepted): after a
Prefect outage, a lost resume or a worker crash, it creates missing runs, resumes suspended runs
that are behind their case's log, and reschedules crashed ones. Runs that it resumes are executed
by `cin worker` (or, with `cin serve --runner`, by a Prefect runner).
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from engine.delivery import deliver_pending
from models.runtime import case_engine

RECONCILER_FLOW_NAME = "cin-reconciler"


@flow(name=RECONCILER_FLOW_NAME, log_prints=False)
def reconcile(limit: int = 500) -> dict[str, int]:
    report = deliver_pending(case_engine(), limit=limit)
    summary = {
        "delivered": report.delivered,
        "created": report.created,
        "resumed": report.resumed,
        "healed": report.healed,
        "failed": report.failed,
    }
    get_run_logger().info("reconciled: %s", summary)
    create_markdown_artifact(
        key="cin-reconciler",
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
