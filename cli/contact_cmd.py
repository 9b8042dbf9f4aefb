"""`cin contact record`: a contact at the front door (Ofsted's Annex A List 1), never a case.

The child's reference is personal data: nothing here prints it back.
"""

from __future__ import annotations

import argparse

from cli.common import iso_date


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    contact = subparsers.add_parser("contact", help="contacts at the front door (not cases)")
    commands = contact.add_subparsers(dest="contact_command", required=True)
    rec = commands.add_parser(
        "record", help="record a contact; the same child, date and source again is the same one"
    )
    rec.add_argument("--authority", required=True, metavar="SLUG")
    rec.add_argument(
        "--child", required=True, metavar="CHILD_REF", help="the recording system's child reference"
    )
    rec.add_argument("--date", required=True, type=iso_date, metavar="YYYY-MM-DD")
    rec.add_argument(
        "--source", required=True, help="who made contact: a DfE referral source code (1A-10)"
    )
    rec.set_defaults(func=run_record)


def run_record(args: argparse.Namespace) -> int:
    from sqlmodel import Session

    from models.cases.contacts import record_contact
    from models.cases.store import sync_authorities
    from models.runtime import case_engine, clock, policies

    policies().authority(args.authority)  # an unknown authority: one line naming the known ones
    engine = case_engine()
    with Session(engine) as session:  # a new database: its authorities' rows first
        sync_authorities(session, policies=policies())
    created = record_contact(
        engine,
        authority=args.authority,
        child_ref=args.child,
        on=args.date,
        source=args.source,
        today=clock().today(),
    )
    print(
        f"contact {'recorded' if created else 'already recorded'} ({args.authority}, {args.date})"
    )
    return 0
