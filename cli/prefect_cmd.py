"""`cin prefect prune`: Prefect keeps the live picture, not everything for ever.

Deletes from the Prefect server the runs of closed cases that ended more than the retention
period ago (`CIN_PREFECT_RETENTION_DAYS`, an engine default), with their task runs, logs and
artifacts, old versions of open cases' timelines (`CIN_TIMELINE_VERSIONS`), and the reconciler's
and monitor's own runs past theirs (`CIN_PREFECT_PASS_RETENTION_DAYS`). The reconciler
does the same every pass; this is the same pass by hand (after a long outage, or to see what it
does). It never writes to the case database (tasks/prefect_retention.py).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

from cli.common import CliError


def _days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 36_500:
        raise argparse.ArgumentTypeError(f"expected a number of days above 0; got {text!r}")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "prefect", help="housekeeping on the Prefect server: closed cases' runs, old timelines"
    )
    commands = parser.add_subparsers(dest="prefect_command", required=True)
    prune = commands.add_parser(
        "prune",
        help="delete closed cases' runs past the retention period, and old timeline versions",
    )
    prune.add_argument(
        "--older-than-days",
        type=_days,
        metavar="DAYS",
        help="runs that ended this long ago (default CIN_PREFECT_RETENTION_DAYS, 90)",
    )
    prune.add_argument(
        "--passes-older-than-days",
        type=_days,
        metavar="DAYS",
        help="the reconciler's and monitor's runs that ended this long ago, each one's latest "
        "kept (default CIN_PREFECT_PASS_RETENTION_DAYS, 7)",
    )
    prune.add_argument(
        "--timelines-since-days",
        type=_days,
        default=1.0,
        metavar="DAYS",
        help="prune the timelines of open cases that took an event this recently (default 1)",
    )
    prune.set_defaults(func=run_prune)


def run_prune(args: argparse.Namespace) -> int:
    from cli.prefect_env import prefect_api_url, prefect_reachable

    if not prefect_reachable():
        raise CliError(f"Prefect did not answer at {prefect_api_url()}: nothing was deleted")
    from models.runtime import case_engine
    from models.settings import get_settings
    from tasks.prefect_retention import prune

    settings, now = get_settings(), datetime.now(UTC)
    report = prune(
        case_engine(),
        now=now,
        retention_days=args.older_than_days or settings.prefect_retention_days,
        keep=settings.timeline_versions,
        since=now - timedelta(days=args.timelines_since_days),
        pass_retention_days=args.passes_older_than_days or settings.prefect_pass_retention_days,
    )
    print(report.summary())
    return 0
