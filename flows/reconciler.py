"""The reconciler: a scheduled flow that delivers what the outbox still holds and heals case runs.

It is the safety net behind the fast path (delivery right after an event is accepted): after a
Prefect outage, a lost resume or a worker crash, it creates missing runs, resumes suspended runs
that are behind their case's log, reschedules crashed ones and runs whose worker died, and
cancels stray runs (a second run for one case), saying so in its log and its artifact. Runs that
it resumes are executed by `cin worker`.
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from models.runtime import case_engine
from tasks.outbox import deliver_pending

RECONCILER_FLOW_NAME = "cin-reconciler"


@flow(name=RECONCILER_FLOW_NAME, log_prints=False)
def reconcile(limit: int = 500) -> dict[str, int]:
    report = deliver_pending(case_engine(), limit=limit)
    summary = {
        "delivered": report.delivered,
        "created": report.created,
        "resumed": report.resumed,
        "healed": report.healed,
        "cancelled_strays": report.cancelled,
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
