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


MOVES_SHOWN = 50  # cases listed in the text; --json lists every one


def as_text(summary: dict[str, Any]) -> list[str]:
    """Sentences and tables for a person; `--json` carries the same figures."""
    lines = [
        f"What if {summary['authority']} changed {summary['change']}, judged on "
        f"{summary['today']} (nothing is written):",
        "",
    ]
    rows = [("All teams", summary)] + [(f"Team {t}", s) for t, s in summary["by_team"].items()]
    for label, s in rows:
        lines += [f"{label}: {_plural(s['open_cases'], 'open case')}, "
                  f"{_plural(s['open_deadlines'], 'open deadline')}."]  # fmt: skip
        lines.append(f"  {_moved(s)}")
        overdue = s["overdue_today"]
        lines.append(f"  Overdue today: {overdue['now']} now, {overdue['then']} under the change.")
        if s["refused"]:
            lines.append(f"  {_plural(s['refused'], 'case')} could not be replayed under it.")
        lines += _weeks_table(s["now"]["alerts_by_week"], s["then"]["alerts_by_week"])
        lines += _rungs_table(s["now"]["escalations_by_rung"], s["then"]["escalations_by_rung"])
        lines.append("")
    moves = summary.get("moves", [])
    if moves:
        lines.append(f"Deadlines that would move ({len(moves)}):")
        lines.append(f"  {'case':12} {'team':18} {'deadline':24} {'due now':10}  {'then':10}  days")
        for m in moves[:MOVES_SHOWN]:
            lines.append(
                f"  {m['case']:12} {m['team']:18} {m['deadline']:24} {m['due_now']:10}  "
                f"{m['due_then']:10}  {m['days']:+d}"
            )
        if len(moves) > MOVES_SHOWN:
            lines.append(f"  ... and {len(moves) - MOVES_SHOWN} more (--json lists them all)")
    else:
        lines.append("No open deadline would move.")
    return lines


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _moved(s: dict[str, Any]) -> str:
    if not s["moved"]:
        return "No open deadline would move."
    shift = s["shift_days"]
    kinds = ", ".join(f"{kind} {n}" for kind, n in s["moved_by_kind"].items())
    return (
        f"{_plural(s['moved'], 'deadline')} would move ({s['moved_earlier']} earlier, "
        f"{s['moved_later']} later), by {shift['min']} to {shift['max']} days "
        f"(median {shift['median']}): {kinds}."
    )


def _weeks_table(now: list[int], then: list[int]) -> list[str]:
    if not any(now) and not any(then):
        return ["  No alerts expected in the next 13 weeks, now or under the change."]
    head = "".join(f"{w:>4}" for w in range(1, len(now) + 1))
    return [
        "  Alerts expected per week over the next 13 weeks:",
        f"    {'week':6}{head}",
        f"    {'now':6}" + "".join(f"{n:>4}" for n in now),
        f"    {'then':6}" + "".join(f"{n:>4}" for n in then),
    ]


def _rungs_table(now: dict[str, int], then: dict[str, int]) -> list[str]:
    rungs = sorted(set(now) | set(then))
    if not rungs:
        return ["  No escalations expected, now or under the change."]
    lines = [
        "  Escalations expected by rung of the ladder:",
        f"    {'rung':26}{'now':>6}{'then':>6}",
    ]
    for rung in rungs:
        lines.append(f"    {rung:26}{now.get(rung, 0):>6}{then.get(rung, 0):>6}")
    return lines
