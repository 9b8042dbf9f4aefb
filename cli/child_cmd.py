"""`cin child set`: the child's personal data the census return needs (and nothing else reads).

Nothing here prints the child's details back: a refusal names the field and the code list.
"""

from __future__ import annotations

import argparse
from typing import Any

from cli.common import iso_date


def child_date(text: str) -> Any:
    """A date of the child's, refused without echoing it (a date of birth is personal data)."""
    try:
        return iso_date(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError("expected an ISO date YYYY-MM-DD") from None


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    child = subparsers.add_parser("child", help="a child's details for the census return")
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
