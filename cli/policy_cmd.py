"""`cin policy validate | show | diff`: check a policy file before it takes effect, read one."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

from calendars import OneOffClosure
from cli import whatif_cmd
from cli.common import CliError, add_policy_dir_option, default_policy_dir, iso_date
from models.clock import clock_from
from models.policy.book import (
    PolicyBook,
    PolicyError,
    PolicyFile,
    ResolvedPolicy,
    diff_versions,
    load_policy_dir,
    validate_policy_file,
)
from models.policy.schema import ENGINE_DEFAULTS


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    policy = subparsers.add_parser("policy", help="authority timescale policies")
    commands = policy.add_subparsers(dest="policy_command", required=True)

    validate = commands.add_parser(
        "validate",
        help="check policy files (a folder means its *.yaml)",
        description="Print 'ok PATH (SLUG, N versions)' per good file and one line per problem; "
        "exit 1 if any file fails.",
    )
    validate.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    validate.add_argument(
        "--no-cases",
        action="store_true",
        help="do not replay the case database's open cases under the files",
    )
    add_policy_dir_option(validate)
    validate.set_defaults(func=run_validate)

    show = commands.add_parser("show", help="the version in force and every timescale")
    show.add_argument("slug", metavar="SLUG")
    show.add_argument(
        "--on",
        type=iso_date,
        metavar="DATE",
        help="the day to resolve (default: today in London, or $CIN_TODAY)",
    )
    show.add_argument("--json", action="store_true", help="machine-readable output")
    add_policy_dir_option(show)
    show.set_defaults(func=run_show)

    diff = commands.add_parser("diff", help="what changed between two versions")
    diff.add_argument("slug", metavar="SLUG")
    diff.add_argument("old", type=version_number, metavar="V1", help="e.g. 1 or v1")
    diff.add_argument("new", type=version_number, metavar="V2")
    add_policy_dir_option(diff)
    diff.set_defaults(func=run_diff)

    whatif_cmd.register(commands)


def version_number(text: str) -> int:
    digits = text[1:] if text[:1] in ("v", "V") else text
    if not digits.isdigit() or int(digits) < 1:
        raise argparse.ArgumentTypeError(f"expected a version like 2 or v2; got {text!r}")
    return int(digits)


def run_validate(args: argparse.Namespace) -> int:
    failed = False
    today = clock_from(os.environ.get("CIN_TODAY")).today()
    for path in _policy_paths(args.paths):
        try:
            policy = validate_policy_file(path, today=today)
            if not args.no_cases:
                open_case_check(path, policy, args.policy_dir or default_policy_dir())
        except PolicyError as error:
            failed = True
            sys.stderr.writelines(f"{problem}\n" for problem in error.problems)
            continue
        count = len(policy.versions)
        print(f"ok {path} ({policy.authority}, {count} version{'s' * (count != 1)})")
    return 1 if failed else 0


def open_case_check(path: Path, policy: PolicyFile, installed_dir: Path) -> None:
    """Replay the open cases `policy` governs under it; PolicyError naming any that would fail.

    Only an existing case database is read (validating never creates one), and nothing is
    written. The installed folder supplies every other authority's file and the national one."""
    from sqlalchemy.exc import SQLAlchemyError
    from sqlmodel import Session

    from models.cases.rebuild_check import SHOWN_CASES, unrebuildable_cases
    from models.database import get_engine
    from models.settings import get_settings

    url = get_settings().resolved_database_url()
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        return
    try:
        installed = load_policy_dir(installed_dir)
    except PolicyError:
        return  # the installed folder's own problems are reported when it is validated
    if policy.is_national:
        candidate = PolicyBook(policy, installed.authorities, installed.engine)
        authorities = installed.slugs()
    elif policy.authority == ENGINE_DEFAULTS:
        candidate = PolicyBook(installed.national, installed.authorities, policy)
        authorities = installed.slugs()
    else:
        candidate = PolicyBook(
            installed.national,
            {**installed.authorities, policy.authority: policy},
            installed.engine,
        )
        authorities = (policy.authority,)
    try:
        with Session(get_engine(url)) as session:
            if not policy.is_national and policy.authority != ENGINE_DEFAULTS:
                _prefix_held_in_database(session, path, policy)
            found = unrebuildable_cases(session, policies=candidate, authorities=authorities)
    except SQLAlchemyError:
        print(f"note: {path}: open cases not checked (the case database cannot be read)")
        return
    if found:
        shown = "; ".join(f"{f.case_ref} event {f.seq}: {f.reason}" for f in found[:SHOWN_CASES])
        more = f" and {len(found) - SHOWN_CASES} more" if len(found) > SHOWN_CASES else ""
        raise PolicyError(
            [
                f"{path}: would leave {len(found)} open case(s) un-rebuildable (expected every "
                f"open case to replay under it): {shown}{more}"
            ]
        )


def _prefix_held_in_database(session: Any, path: Path, policy: PolicyFile) -> None:
    """The case database remembers every authority it has numbered cases for, with its prefix:
    a new file taking a removed council's prefix would make every referral a duplicate
    reference (issue 26), so refuse it while that council's cases exist."""
    from sqlmodel import col, func, select

    from models.tables import Authority, Case

    holders = session.exec(
        select(Authority.slug).where(
            col(Authority.case_prefix) == policy.prefix, col(Authority.slug) != policy.authority
        )
    ).all()
    for holder in holders:
        cases = session.exec(
            select(func.count()).select_from(Case).where(col(Case.authority) == holder)
        ).one()
        if cases:
            raise PolicyError(
                [
                    f"{path}: case_prefix: expected a prefix no other authority's cases use; "
                    f"{policy.prefix} numbers {cases} case(s) of {holder!r} in the case database "
                    "(set another case_prefix)"
                ]
            )


def _policy_paths(paths: list[Path]) -> list[Path]:
    expanded: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(path.glob("*.yaml"))
            if not found:
                raise CliError(f"{path}: no *.yaml policy files in this folder")
            expanded.extend(found)
        else:
            expanded.append(path)
    return expanded


def run_show(args: argparse.Namespace) -> int:
    day = args.on or clock_from(os.environ.get("CIN_TODAY")).today()
    resolved = _book(args).authority(args.slug).on(day)
    if args.json:
        print(json.dumps(policy_as_json(resolved, day), indent=2))
    else:
        sys.stdout.writelines(f"{line}\n" for line in policy_as_text(resolved, day))
    return 0


def run_diff(args: argparse.Namespace) -> int:
    authority = _book(args).authority(args.slug)
    lines = diff_versions(authority.version(args.old), authority.version(args.new))
    sys.stdout.writelines(f"{line}\n" for line in lines or ["no differences"])
    return 0


def _book(args: argparse.Namespace) -> PolicyBook:
    return load_policy_dir(args.policy_dir or default_policy_dir())


def policy_as_text(policy: ResolvedPolicy, day: date) -> list[str]:
    """Every line says where it comes from: statutory, local (with its citation) or engine
    default (with its reason)."""
    end = policy.effective_to.isoformat() if policy.effective_to else "open-ended"
    lines = [
        f"{policy.policy_ref}: {policy.name} ({policy.nation.value})",
        f"in force on {day.isoformat()}: {policy.effective_from.isoformat()} to {end}",
        f"source: {policy.source}",
    ]
    if policy.assumed_from is not None:
        lines.append(
            f"assumed to apply from {policy.assumed_from.isoformat()}, before the document's "
            "date: deadlines counted then say so"
        )
    lines += [
        "non-working start: "
        + ("rolled to the next working day" if policy.roll_non_working_start else "counted as is"),
        f"closure days: {', '.join(_closure_text(policy)) or 'none'}",
        "timescales:",
    ]
    rows = [("kind", "amount", "counts from", "provenance", "set by", "source")]
    rows += [
        (
            ts.kind.value,
            f"{ts.amount} {ts.unit.value}",
            ts.counts_from.value,
            ts.provenance,
            ts.defined_by,
            ts.source,
        )
        for ts in policy.timescales.values()
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = "".join(cell.ljust(width + 2) for cell, width in zip(row, widths, strict=False))
        lines.append(f"  {cells}{row[-1]}")
    if policy.no_clock:
        lines.append(f"no clock: {', '.join(k.value for k in policy.no_clock)}")
    if policy.rules:
        lines.append("rules (not clocks; this council's own):")
        lines += [f"  {rule.value}: {cited}" for rule, cited in policy.rules.items()]
    else:
        lines.append("rules (not clocks): none set by this council's document")
    ladder = ", ".join(
        f"{s.role.value} after {s.after_working_days_overdue}" for s in policy.escalation
    )
    lines.append(f"escalation (working days overdue): {ladder}")
    channels = "; ".join(
        f"{role.value}: {', '.join(c.value for c in ways)}"
        for role, ways in policy.channels.items()
    )
    lines.append(f"channels: {channels or 'none'}")
    lines.append(f"urgent: {', '.join(sorted(k.value for k in policy.urgent)) or 'none'}")
    lines.append(f"drift: {policy.continue_streak} reviews in a row deciding 'continue'")
    lines.append("settings:")
    lines += [f"  {name}: {label}" for name, label in policy.labels.items()]
    return lines


def _closure_text(policy: ResolvedPolicy) -> list[str]:
    return [
        f"{c.day.isoformat()} {c.name}"
        if isinstance(c, OneOffClosure)
        else f"{c.start_month:02}-{c.start_day:02} to {c.end_month:02}-{c.end_day:02} {c.name}"
        for c in policy.closures
    ]


def policy_as_json(policy: ResolvedPolicy, day: date) -> dict[str, object]:
    return {
        "authority": policy.authority,
        "name": policy.name,
        "nation": policy.nation.value,
        "version": policy.version,
        "on": day.isoformat(),
        "effective_from": policy.effective_from.isoformat(),
        "effective_to": policy.effective_to.isoformat() if policy.effective_to else None,
        "source": policy.source,
        "roll_non_working_start": policy.roll_non_working_start,
        "closure_days": _closure_text(policy),
        "timescales": {
            ts.kind.value: {
                "amount": ts.amount,
                "unit": ts.unit.value,
                "counts_from": ts.counts_from.value,
                "source": ts.source,
                "provenance": ts.provenance,
                "inherited": ts.inherited,
                "defined_by": ts.defined_by,
            }
            for ts in policy.timescales.values()
        },
        "escalation": [
            {"role": s.role.value, "after_working_days_overdue": s.after_working_days_overdue}
            for s in policy.escalation
        ],
        "channels": {r.value: [c.value for c in ways] for r, ways in policy.channels.items()},
        "urgent": sorted(k.value for k in policy.urgent),
        "no_clock": [k.value for k in policy.no_clock],
        "rules": {rule.value: cited for rule, cited in policy.rules.items()},
        "assumed_from": policy.assumed_from.isoformat() if policy.assumed_from else None,
        "continue_streak": policy.continue_streak,
        "settings": {
            name: {"provenance": label.provenance, "reason": label.reason}
            for name, label in policy.labels.items()
        },
    }
