"""`cin child set`: the child's personal data the census return needs; `cin child export`:
everything the case database holds about one child, for a subject access request (issue 24).

Nothing here prints the child's details back: a refusal names the field and the code list.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cli.common import audit_read, iso_date


def child_date(text: str) -> Any:
    """A date of the child's, refused without echoing it (a date of birth is personal data)."""
    try:
        return iso_date(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError("expected an ISO date YYYY-MM-DD") from None


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    child = subparsers.add_parser(
        "child", help="a child's details for the census return; export a child's record"
    )
    commands = child.add_subparsers(dest="child_command", required=True)
    put = commands.add_parser(
        "set", help="set (replace) a child's census details: DOB, UPN, sex, ethnicity, disability"
    )
    put.add_argument("child", metavar="CHILD_REF", help="the recording system's child reference")
    put.add_argument("--authority", required=True, metavar="SLUG")
    born = put.add_mutually_exclusive_group(required=True)
    born.add_argument("--dob", type=child_date, metavar="YYYY-MM-DD", help="date of birth")
    born.add_argument(
        "--expected-dob", type=child_date, metavar="YYYY-MM-DD", help="an unborn child's due date"
    )
    put.add_argument("--sex", required=True, metavar="M|F|U")
    put.add_argument("--ethnicity", required=True, metavar="CODE", help="DfE ethnicity code")
    upn = put.add_mutually_exclusive_group(required=True)
    upn.add_argument("--upn", metavar="UPN", help="unique pupil number (13 characters)")
    upn.add_argument("--upn-unknown", metavar="UN1..UN7", help="why there is no UPN")
    put.add_argument("--former-upn", metavar="UPN")
    put.add_argument(
        "--disability",
        action="append",
        default=[],
        metavar="CODE",
        help="repeat for each (NONE, MOB, HAND, PC, INC, COMM, LD, HEAR, VIS, BEH, CON, AUT, DDA)",
    )
    put.add_argument("--died", type=child_date, metavar="YYYY-MM-DD", help="date of death")
    put.set_defaults(func=run_set)

    export = commands.add_parser(
        "export",
        help="everything held about one child (details, cases, events, deadlines, alerts, "
        "accesses) in one file, readable by its owner only: JSON, or HTML by --html or suffix",
    )
    export.add_argument("--authority", required=True, metavar="SLUG")
    export.add_argument("--child", required=True, metavar="CHILD_REF")
    export.add_argument("--out", required=True, type=Path, metavar="FILE")
    export.add_argument("--html", action="store_true", help="a readable page (also for *.html)")
    export.add_argument(
        "--force", action="store_true", help="replace --out if it is an existing regular file"
    )
    export.set_defaults(func=run_export)


def child_details(args: argparse.Namespace) -> dict[str, Any]:
    details: dict[str, Any] = {
        "sex": args.sex,
        "ethnicity": args.ethnicity,
        "birth_date": args.dob,
        "expected_birth_date": args.expected_dob,
        "upn": args.upn,
        "upn_unknown": args.upn_unknown,
        "former_upn": args.former_upn,
        "disabilities": args.disability,
        "death_date": args.died,
    }
    return {k: v for k, v in details.items() if v is not None}


def run_set(args: argparse.Namespace) -> int:
    from engine.ingest import Ingest

    created = Ingest.from_settings(deliver=False).set_child(
        authority=args.authority, child_ref=args.child, details=child_details(args)
    )
    print(f"child details {'recorded' if created else 'replaced'} ({args.authority})")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from sqlmodel import Session

    from models.access.record import child_record
    from models.access.record_view import as_html, as_json
    from models.output_file import check_target, write_bytes
    from models.runtime import case_engine, policies

    check_target(args.out, option="--out", replace=args.force)  # before reading the database
    policies().authority(args.authority)  # an unknown authority is refused by name
    with Session(case_engine()) as session:
        record = child_record(session, authority=args.authority, child_ref=args.child)
    produced = datetime.now(UTC).isoformat(timespec="seconds")
    html = args.html or args.out.suffix.lower() in (".html", ".htm")
    data = as_html(record, produced) if html else as_json(record, produced)
    write_bytes(args.out, data, option="--out", replace=args.force)
    audit_read("child export", "exported", authority=args.authority, child_ref=args.child)
    rows = sum(len(r) for r in record.tables.values())
    print(
        f"{args.out}: {len(record.case_refs)} case(s), {rows} row(s) in "
        f"{'HTML' if html else 'JSON'} (readable by its owner only)"
    )
    return 0
