"""`cin retention plan|apply`: each council's retention rule applied to its children's records.

`plan` lists every child of the council and the verdict (due, held, open, not yet, unknown) with
the reason; `apply` destroys what is due, one child per transaction, then deletes the destroyed
cases' runs and artifacts on Prefect, and finishes that part for earlier runs that could not.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from cli.common import CliError, iso_date, os_user
from cli.errors import ENVIRONMENT

if TYPE_CHECKING:
    from models.policy.retention import Retention


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    retention = subparsers.add_parser(
        "retention", help="the retention schedule: what is due for destruction, apply it"
    )
    commands = retention.add_subparsers(dest="retention_command", required=True)
    plan = commands.add_parser("plan", help="each child's record: due for destruction or why not")
    apply = commands.add_parser(
        "apply", help="destroy the records due (never a held or open one); log each destruction"
    )
    for parser in (plan, apply):
        parser.add_argument("--authority", required=True, metavar="SLUG")
        parser.add_argument(
            "--as-of", required=True, type=iso_date, metavar="DATE", help="the day to judge"
        )
    plan.add_argument("--json", action="store_true")
    plan.set_defaults(func=run_plan)
    apply.set_defaults(func=run_apply)


def _rule(args: argparse.Namespace) -> Retention:
    from models.policy.retention import retention_of
    from models.runtime import policies

    authority = policies().authority(args.authority)  # an unknown one is refused by name
    return retention_of(authority.policy.retention, authority.engine.retention)


def run_plan(args: argparse.Namespace) -> int:
    from sqlmodel import Session

    from models.retention.plan import retention_plan
    from models.runtime import case_engine

    retention = _rule(args)
    with Session(case_engine()) as session:
        rows = retention_plan(
            session, authority=args.authority, retention=retention, as_of=args.as_of
        )
    if args.json:
        print(
            json.dumps(
                {
                    "authority": args.authority,
                    "as_of": args.as_of.isoformat(),
                    "rule": retention.describe(),
                    "provenance": retention.provenance,
                    "children": [
                        {
                            "child_ref": r.child_ref,
                            "cases": list(r.case_refs),
                            "verdict": r.verdict,
                            "due_on": r.due_on.isoformat() if r.due_on else None,
                            "why": r.why,
                        }
                        for r in rows
                    ],
                },
                indent=2,
            )
        )
        return 0
    print(f"{args.authority} on {args.as_of.isoformat()}: {retention.describe()}")
    for r in rows:
        cases = ",".join(r.case_refs) or "-"
        print(f"  {r.verdict:8} {r.child_ref:16} {cases:30} {r.why}")
    counts = {v: sum(1 for r in rows if r.verdict == v) for v in ("due", "held", "open")}
    print(
        f"{counts['due']} due for destruction, {counts['held']} held, {counts['open']} open, "
        f"{len(rows)} children"
    )
    return 0


def run_apply(args: argparse.Namespace) -> int:
    from sqlmodel import Session

    from cli.prefect_env import prefect_api_url, prefect_reachable
    from models.retention.destroy import compact, destroy_child, finish_pending, pending_rows
    from models.retention.plan import retention_plan
    from models.runtime import case_engine, clock

    today = clock().today()
    if args.as_of > today:  # a plan may look ahead; destruction never runs ahead of the day
        raise CliError(
            f"--as-of: expected a day on or before today ({today.isoformat()}); "
            f"got {args.as_of.isoformat()} (`cin retention plan` shows a later day)"
        )
    retention = _rule(args)
    engine = case_engine()
    with Session(engine) as session:
        rows = retention_plan(
            session, authority=args.authority, retention=retention, as_of=args.as_of
        )
    destroyed = cases = 0
    for row in rows:
        if not row.destroy:
            continue
        done = destroy_child(
            engine,
            authority=args.authority,
            child_ref=row.child_ref,
            retention=retention,
            as_of=args.as_of,
            by=os_user(),
        )
        if done is not None:
            destroyed, cases = destroyed + 1, cases + done.cases
    held = sum(1 for r in rows if r.verdict == "held")
    if destroyed:
        compact(engine)
    print(
        f"{destroyed} record(s) destroyed ({cases} case(s)), {held} held and kept; "
        f"{retention.describe()}"
    )
    waiting = pending_rows(engine)
    if not waiting:
        return 0
    if not prefect_reachable():
        sys.stderr.write(
            f"cin: error: Prefect did not answer at {prefect_api_url()}: the runs and artifacts "
            f"of {len(waiting)} destroyed record(s) are still to delete; run "
            "`cin retention apply` again once it is up\n"
        )
        return ENVIRONMENT
    from engine.forget import forget_on_prefect
    from models.instance import instance_id

    finished = finish_pending(engine, forget_on_prefect(instance_id(engine)))
    print(f"Prefect: the runs and artifacts of {finished} destroyed record(s) deleted")
    return 0
