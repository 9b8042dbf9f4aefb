"""`cin monitor run|status`: the deadline monitor by hand, and its outbox."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime
from typing import Any

from cli.common import CliError, iso_date


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    monitor = subparsers.add_parser("monitor", help="the deadline monitor: run a pass, see alerts")
    commands = monitor.add_subparsers(dest="monitor_command", required=True)

    run = commands.add_parser(
        "run",
        help="one pass: raise the day's alerts, send the digests due that day and what is waiting",
    )
    run.add_argument(
        "--as-of",
        type=iso_date,
        metavar="DATE",
        help="the day to judge, YYYY-MM-DD (default: today in Europe/London)",
    )
    run.add_argument(
        "--without-prefect",
        action="store_true",
        help="run the pass here without a flow run (alerts still go out when Prefect is down)",
    )
    run.add_argument("--no-digests", action="store_true", help="raise and send, compose no digest")
    run.add_argument("--json", action="store_true")
    run.set_defaults(func=run_monitor)

    status = commands.add_parser(
        "status", help="what is waiting to be sent, what failed and why, what has nobody to tell"
    )
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=run_status)


def run_monitor(args: argparse.Namespace) -> int:
    from models.alerts.store import MonitorBusy
    from models.runtime import clock

    try:
        return _run_monitor(args, clock().today())
    except MonitorBusy as busy:
        raise CliError(f"{busy}; try again when it has finished") from None


def _run_monitor(args: argparse.Namespace, today: date) -> int:
    from cli.prefect_env import prefect_api_url, prefect_reachable

    day = args.as_of or today
    digests = not args.no_digests
    without = args.without_prefect
    if not without and not prefect_reachable():
        sys.stderr.write(
            f"cin: Prefect did not answer at {prefect_api_url()}: carrying on without it "
            "(alerts are raised and sent; no monitor run or relabelled case runs in the UI). "
            "Start it with `cin serve`, or pass --without-prefect to skip this check.\n"
        )
        without = True
    if without:
        from notifications.monitor_pass import one_pass  # no Prefect imported

        report = one_pass(day, digests=digests)
        summary = report.summary()
    else:
        from flows.monitor import deadline_monitor

        summary = deadline_monitor(as_of=day, digests=digests)
    if args.json:
        print(json.dumps({"as_of": day.isoformat(), **summary}))
    else:
        print(f"monitor {day.isoformat()}: " + ", ".join(f"{k} {v}" for k, v in summary.items()))
    if summary["failed"] and not summary["sent"]:
        sys.stderr.write(
            f"cin: error: every message failed to send ({summary['failed']}); they are retried "
            "with backoff: see `cin monitor status` for why\n"
        )
        return 1
    return 0


def run_status(args: argparse.Namespace) -> int:
    from sqlalchemy import func
    from sqlalchemy import select as sa_select
    from sqlmodel import Session, col, select

    from models.runtime import case_engine
    from models.tables import Alert, Dispatch
    from notifications.raising import NO_TEAMS_URL, held_channel

    now = datetime.now(UTC)
    with Session(case_engine()) as session:
        dispatches = list(session.exec(select(Dispatch).where(col(Dispatch.sent_at).is_(None))))
        sent = session.exec(
            select(func.count()).select_from(Dispatch).where(col(Dispatch.sent_at).is_not(None))
        ).one()
        held = (col(Alert.authority), col(Alert.team), col(Alert.role), col(Alert.recipient))
        unrouted = session.execute(
            sa_select(*held, func.count()).where(col(Alert.mode) == "held").group_by(*held)
        ).all()
    failing = [d for d in dispatches if d.last_error]
    result: dict[str, Any] = {
        "sent": sent,
        "waiting": len(dispatches),
        "failing": [
            {
                "key": d.key,
                "channel": d.channel,
                "recipient": d.recipient,
                "attempts": d.attempts,
                "last_error": d.last_error,
                "next_attempt_at": _utc(d.next_attempt_at).isoformat(),
                "due_now": _utc(d.next_attempt_at) <= now,
            }
            for d in sorted(failing, key=lambda d: d.key)
        ],
        "unrouted": [
            {
                "authority": a,
                "team": t or "unallocated",
                "role": r,
                "alerts": n,
                "channel": held_channel(recipient),
                "missing": "teams_url" if recipient.startswith(NO_TEAMS_URL) else "role_holder",
            }
            for a, t, r, recipient, n in sorted(
                unrouted, key=lambda row: (row[0], row[1] or "", row[2], row[3])
            )
        ],  # fmt: skip
    }
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"sent {result['sent']}, waiting {result['waiting']}, failing {len(failing)}")
    for f in result["failing"]:
        print(
            f"  {f['key']}: {f['attempts']} attempts, next {f['next_attempt_at']}: "
            f"{f['last_error']}"
        )
    for u in result["unrouted"]:
        if u["missing"] == "teams_url":
            print(
                f"  held: {u['alerts']} Teams alerts for the {u['role']} of "
                f"{u['authority']}/{u['team']}: CIN_TEAMS_URLS has no URL for "
                f"{u['authority']}/{u['team']} (the policy tells that role by Teams); told at "
                "the first monitor pass after it is set (`cin config show`)"
            )
            continue
        print(
            f"  held: {u['alerts']} alerts for the {u['role']} of {u['authority']}/{u['team']}, "
            "nobody holds that role; told at the first monitor pass after someone takes the role "
            "(cin staff import)"
        )
    return 0


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
