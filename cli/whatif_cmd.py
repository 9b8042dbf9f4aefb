"""`cin policy whatif SLUG --set KIND="AMOUNT UNIT" | --draft FILE`: what a change would do.

Replays the authority's open cases through the pure lifecycle under the changed policy and
compares with the deadline rows as they stand. Reads the case database; writes nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from cli.common import add_policy_dir_option, default_policy_dir


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    whatif = commands.add_parser(
        "whatif",
        help="what a timescale change would do to the open cases (writes nothing)",
        description="How many open deadlines move and by how much, how many would be overdue "
        "today, and the alerts per week and escalations by rung over the coming quarter, per "
        "team, if the policy changed. The case database is only read.",
    )
    whatif.add_argument("slug", metavar="SLUG")
    change = whatif.add_mutually_exclusive_group(required=True)
    change.add_argument(
        "--set",
        dest="settings",
        action="append",
        metavar='KIND="AMOUNT UNIT"',
        help='e.g. first_review="4 weeks" (repeatable); changes the version in force today',
    )
    change.add_argument("--draft", type=Path, metavar="FILE.yaml", help="a draft policy file")
    whatif.add_argument("--json", action="store_true", help="machine-readable output")
    add_policy_dir_option(whatif)
    whatif.set_defaults(func=run_whatif)


def run_whatif(args: argparse.Namespace) -> int:
    from models.policy.book import load_policy_dir
    from models.policy.change import from_draft, parse_setting, with_settings
    from models.runtime import case_engine, clock
    from models.settings import get_settings
    from models.whatif.load import load_open_cases
    from models.whatif.replay import replay
    from notifications.whatif_report import summarise

    book = load_policy_dir(args.policy_dir or default_policy_dir())
    current = book.authority(args.slug)  # unknown authority: one line, before the database
    today = clock().today()
    if args.draft is not None:
        changed = from_draft(book, args.slug, args.draft)
        change = f"draft {args.draft}"
    else:
        settings = [parse_setting(text) for text in args.settings]
        changed = with_settings(book, args.slug, settings, today)
        change = ", ".join(s.describe() for s in settings)
    cases = load_open_cases(case_engine(), args.slug)
    summary = summarise(
        replay(cases, changed),
        current.on(today),
        changed.on(today),
        today,
        get_settings().due_soon_working_days,
    )
    summary = {"authority": args.slug, "change": change, **summary}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        sys.stdout.writelines(f"{line}\n" for line in as_text(summary))
    return 0


def as_text(summary: dict[str, Any]) -> list[str]:
    lines = [
        f"what if {summary['authority']}: {summary['change']} (today {summary['today']}; "
        "nothing written)"
    ]
    rows = [("", summary)] + [(f"team {t}", s) for t, s in summary["by_team"].items()]
    for label, s in rows:
        shift = s["shift_days"]
        head = label or "all teams"
        lines += [
            f"{head}: {s['open_cases']} open cases, {s['open_deadlines']} open deadlines",
            f"  moved: {s['moved']} ({s['moved_earlier']} earlier, {s['moved_later']} later; "
            f"days min {shift['min']}, median {shift['median']}, max {shift['max']}) "
            f"{_kinds(s['moved_by_kind'])}",
            f"  overdue today: {s['overdue_today']['now']} now, {s['overdue_today']['then']} then",
            f"  alerts per week, next 13 weeks: now {s['now']['alerts_by_week']}",
            f"                                 then {s['then']['alerts_by_week']}",
            f"  escalations by rung: now {_kinds(s['now']['escalations_by_rung'])}, "
            f"then {_kinds(s['then']['escalations_by_rung'])}",
        ]
        if s["refused"]:
            lines.append(f"  {s['refused']} case(s) could not be replayed under the change")
    return lines


def _kinds(counts: dict[str, int]) -> str:
    return "{" + ", ".join(f"{k}: {v}" for k, v in counts.items()) + "}"
