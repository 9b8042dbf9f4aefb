"""`cin census export` / `cin census check`: the DfE children in need census return.

The return holds personal data: it is written readable by its owner only, and nothing here prints
a child's details or reference (findings name the case reference and the event to correct).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cli.common import CliError, audit_read, iso_date, whole_number

if TYPE_CHECKING:
    from models.census.year import CensusYear

# the census fields of `cin case record` (issue 10) and the events that take them
CENSUS_FIELDS = {
    "factors": ("assessment_completed",),
    "authorised": ("assessment_completed",),
    "category": ("icpc_held", "cp_review_held"),
}


def add_census_options(rec: argparse.ArgumentParser) -> None:
    rec.add_argument(
        "--factors",
        metavar="CODES",
        help="assessment_completed: factors identified, comma-separated (3B,4B; CODES.md)",
    )
    rec.add_argument(
        "--authorised",
        type=iso_date,
        metavar="YYYY-MM-DD",
        help="assessment_completed: the day the assessment was authorised (default: --date)",
    )
    rec.add_argument(
        "--category",
        metavar="NEG|PHY|SAB|EMO|MUL",
        help="icpc_held cp_plan / cp_review_held: the plan's category of abuse",
    )


def census_fields(args: argparse.Namespace) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, events in CENSUS_FIELDS.items():
        value = getattr(args, name)
        if value is None:
            continue
        if args.event not in events:
            raise CliError(f"{args.event} takes no --{name} (only {' and '.join(events)})")
        if name == "factors":
            value = [code.strip() for code in value.split(",") if code.strip()]
        elif name == "authorised":
            value = value.isoformat()
        fields[name] = value
    return fields


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    census = subparsers.add_parser("census", help="the DfE children in need census return")
    commands = census.add_subparsers(dest="census_command", required=True)
    export = commands.add_parser(
        "export", help="write the return for the collection year ending 31 March YEAR"
    )
    _common(export)
    export.add_argument("--out", required=True, type=Path, metavar="FILE.xml")
    export.add_argument(
        "--force", action="store_true", help="replace --out if it is an existing regular file"
    )
    export.set_defaults(func=run_export)
    check = commands.add_parser(
        "check", help="run the DfE's validation rules on the year's return; exit 1 on an error"
    )
    _common(check)
    check.set_defaults(func=run_check)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--authority", required=True, metavar="SLUG")
    parser.add_argument(
        "--year",
        required=True,
        type=census_year,
        metavar="YEAR",
        help="the year of the reference date: 2026 = 1 April 2025 to 31 March 2026",
    )


FIRST_YEAR = 2000  # engine default: before any case this engine can hold


def census_year(text: str) -> int:
    """A collection year that has begun (1 April YEAR-1 on or before today): a usage error
    (exit 2) otherwise, like any number out of range."""
    from models.runtime import clock

    year = whole_number(text)
    today = clock().today()
    last = today.year + 1 if (today.month, today.day) >= (4, 1) else today.year
    if not FIRST_YEAR <= year <= last:
        raise argparse.ArgumentTypeError(
            f"expected a collection year from {FIRST_YEAR} to {last} (the one under way); "
            f"got {year}"
        )
    return year


def _year(args: argparse.Namespace) -> CensusYear:
    from models.census.year import CensusYear

    return CensusYear(args.year)


def run_export(args: argparse.Namespace) -> int:
    from models.census.export import export_return
    from models.output_file import check_target
    from models.runtime import case_engine, policies

    year = _year(args)
    check_target(args.out, option="--out", replace=args.force)  # before reading the database
    done = export_return(
        case_engine(),
        policies=policies(),
        authority=args.authority,
        year=year,
        out=args.out,
        produced_at=datetime.now(UTC),
        replace=args.force,
    )
    audit_read(  # one row per export, naming nothing personal (issue 24)
        "census export",
        f"{done.children} children, year {args.year}",
        authority=args.authority,
    )
    for omitted in done.omitted:
        sys.stderr.write(f"left out: {omitted.case_ref}: {omitted.reason}\n")
    print(
        f"{args.out}: {done.children} children, collection year {year.start} to "
        f"{year.reference_date} (readable by its owner only)"
    )
    if done.omitted:
        sys.stderr.write(f"{len(done.omitted)} case(s) left out: record what they need\n")
        return 1
    return 0


def run_check(args: argparse.Namespace) -> int:
    from models.census.check import check_return
    from models.runtime import case_engine, policies
    from models.settings import get_settings

    year = _year(args)
    report = check_return(
        case_engine(),
        policies=policies(),
        authority=args.authority,
        year=year,
        produced_at=datetime.now(UTC),
        census_python=get_settings().census_python,
    )
    audit_read(  # it reads every child of the return: one row, naming nothing personal
        "census check", f"{report.children} children, year {args.year}", authority=args.authority
    )
    for f in sorted(report.findings, key=lambda f: (f.case_ref or "", f.code)):
        print(
            f"{f.case_ref or '(return)':12} rule {f.code:7} {f.level:5}  {f.field}: {f.message}"
            f"  -> correct {f.correct}"
        )
    print(f"summary ({report.children} children in the return, {year.reference_date}):")
    for code, level, count, message in report.by_rule():
        print(f"  rule {code:7} {level:5} {count:6}  {message}")
    if not report.findings:
        print("  no failures")
    return 1 if report.errors else 0
