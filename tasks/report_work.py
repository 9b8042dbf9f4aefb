"""The report's headline table as a Prefect artifact, published by the scheduled monitor once a day.

The task is cached on the day (result persisted), so of the monitor's runs every 15 minutes only
the first of each day computes and publishes; the rest get the cached result.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from prefect import task
from prefect.artifacts import create_table_artifact

from models.instance import instance_id, report_artifact_key
from models.lifecycle import add_calendar_months
from models.report import comparison
from models.report.flat import HEADLINE, seeds_text, value_of
from models.runtime import case_engine, policies


def headline_table(as_of: date) -> tuple[list[dict[str, Any]], str]:
    """One row per headline measure, a column per authority, over the 12 months to `as_of`."""
    start = add_calendar_months(as_of, -12) + timedelta(days=1)
    document = comparison(case_engine(), policies(), start, as_of)
    reports = document["authorities"]
    rows = [
        {
            "measure": measure,
            **{slug: _cell(value_of(report, measure)) for slug, report in reports.items()},
            "published (seed)": seeds_text(measure),
        }
        for measure in HEADLINE
    ]
    return rows, f"{start.isoformat()} to {as_of.isoformat()}"


def _cell(value: Any) -> str:
    return "-" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def _day_key(_context: object, parameters: dict[str, Any]) -> str:
    """Once per engine instance and day: the results store is shared by every database and run,
    and a database recreated at the same URL is a new instance whose report is not cached."""
    return f"cin-{instance_id(case_engine())}-council-report-{parameters['as_of']}"


@task(
    name="publish-council-report",
    cache_key_fn=_day_key,
    cache_expiration=timedelta(days=2),
    persist_result=True,
)
def publish_council_report(as_of: date) -> int:
    """Publish the headline table for `as_of` (once: later calls that day are cache hits)."""
    rows, period = headline_table(as_of)
    create_table_artifact(
        key=report_artifact_key(instance_id(case_engine())),
        table=rows,
        description=(
            f"Children in need measures per council, {period} (measures on a date: {as_of}), "
            "beside the seeds' published figures (`cin report` for the whole report)."
        ),
    )
    return len(rows)
