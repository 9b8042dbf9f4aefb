"""`cin report`: the council's own figures from the event log, beside the seeds' published ones."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

from cli.common import CliError, iso_date
from models.report.flat import flatten, seeds_text


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = subparsers.add_parser(
        "report",
        help="measures for a council (or every council) over a period",
        description="Referrals, NFA, assessments, re-referrals, closures by duration, plans, "
        "overdue work and rates per 10,000 children, each beside the seeds' published figure "
        "(docs/census-and-annex-a.md, 'Reports'). Measures on a date are on --to.",
    )
    who = report.add_mutually_exclusive_group(required=True)
    who.add_argument("--authority", metavar="SLUG", help="one council")
    who.add_argument(
        "--compare", action="store_true", help="every authority in the database, side by side"
    )
    report.add_argument("--from", dest="start", type=iso_date, required=True, metavar="DATE")
    report.add_argument("--to", dest="end", type=iso_date, required=True, metavar="DATE")
    out = report.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="the measures as JSON")
    out.add_argument("--csv", action="store_true", help="one row per measure (and authority)")
    out.add_argument("--html", type=Path, metavar="FILE", help="a self-contained page with charts")
    report.add_argument(
        "--force", action="store_true", help="replace --html if it is an existing regular file"
    )
    report.set_defaults(func=run_report)


def run_report(args: argparse.Namespace) -> int:
    from models.report import authority_report, comparison
    from models.runtime import case_engine, policies

    if args.end < args.start:
        raise CliError(f"--to: expected a date on or after --from {args.start}; got {args.end}")
    if args.html:
        from models.output_file import check_target

        check_target(args.html, option="--html", replace=args.force)  # before the work
    book = policies()
    if args.compare:
        document = comparison(case_engine(), book, args.start, args.end)
        reports = list(document["authorities"].values())
    else:
        if args.authority not in book.slugs():
            known = ", ".join(book.slugs())
            raise CliError(f"--authority: expected one of {known}; got {args.authority!r}")
        document = authority_report(case_engine(), book, args.authority, args.start, args.end)
        reports = [document]
    if args.json:
        print(json.dumps(document, indent=2))
    elif args.csv:
        _write_csv(reports)
    elif args.html:
        _write_html(args.html, document, compare=args.compare, replace=args.force)
    else:
        _write_text(reports)
    return 0


def _write_csv(reports: list[dict[str, Any]]) -> None:
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["authority", "from", "to", "measure", "value", "published_seed_figures"])
    for report in reports:
        for measure, value in flatten(report):
            writer.writerow(
                [
                    report["authority"],
                    report["from"],
                    report["to"],
                    measure,
                    "" if value is None else value,
                    seeds_text(measure),
                ]
            )


def _write_text(reports: list[dict[str, Any]]) -> None:
    for report in reports:
        print(f"{report['name']} ({report['authority']}), {report['from']} to {report['to']}")
        rows = flatten(report)
        width = max(len(m) for m, _ in rows)
        for measure, value in rows:
            seeds = seeds_text(measure)
            shown = "-" if value is None else value
            print(f"  {measure.ljust(width)}  {str(shown):>8}  {seeds}".rstrip())


def _write_html(path: Path, document: dict[str, Any], *, compare: bool, replace: bool) -> None:
    from cli.report_html import authority_html, comparison_html
    from models.output_file import write_bytes

    page = comparison_html(document) if compare else authority_html(document)
    # a full or read-only disk is an OSError: exit 3 (README, exit codes), no file left behind
    write_bytes(path, page.encode("utf-8"), option="--html", replace=replace)
    print(f"wrote {path}")
