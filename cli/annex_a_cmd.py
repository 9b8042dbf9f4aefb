"""`cin annex-a export`: Ofsted's Annex A lists as at a date (docs/census-and-annex-a.md).

The lists hold personal data: the files are written readable by their owner only, and nothing here
prints a child's details or reference (the summary counts rows per list).
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from cli.common import audit_read, iso_date


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    annex = subparsers.add_parser("annex-a", help="Ofsted's Annex A lists for an inspection")
    commands = annex.add_subparsers(dest="annex_command", required=True)
    export = commands.add_parser(
        "export", help="write lists 1-11 as at --as-of (a workbook, or one CSV file per list)"
    )
    export.add_argument("--authority", required=True, metavar="SLUG")
    export.add_argument(
        "--as-of",
        required=True,
        type=as_of_date,
        metavar="YYYY-MM-DD",
        help="the day the lists are drawn up to (today or earlier); they cover the six months "
        "to it",
    )
    where = export.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", type=Path, metavar="FILE.xlsx", help="a new workbook")
    where.add_argument("--csv", type=Path, metavar="DIR", help="an existing folder: List N.csv")
    export.add_argument(
        "--force", action="store_true", help="replace existing regular files of the same names"
    )
    export.set_defaults(func=run_export)


def as_of_date(text: str) -> date:
    """A date not after today (the engine's clock): a usage error (exit 2) otherwise."""
    from models.runtime import clock

    day = iso_date(text)
    today = clock().today()
    if day > today:
        raise argparse.ArgumentTypeError(
            f"expected a date on or before today ({today}); got a date in the future"
        )
    return day


def run_export(args: argparse.Namespace) -> int:
    from models.annex_a.export import export_annex_a
    from models.runtime import case_engine, policies

    done = export_annex_a(
        case_engine(),
        policies=policies(),
        authority=args.authority,
        as_of=args.as_of,
        out=args.out,
        csv_dir=args.csv,
        replace=args.force,
    )
    audit_read(  # one row per export, naming nothing personal (issue 24)
        "annex a export", f"{done.children} children, as at {args.as_of}", authority=args.authority
    )
    counts = ", ".join(f"{name} {n}" for name, n in done.rows.items())
    print(f"{done.path}: as at {args.as_of}, {done.children} children in lists 3-7; rows: {counts}")
    print("(personal data: readable by its owner only)")
    return 0
