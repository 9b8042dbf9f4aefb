"""`cin hold add|list|release`: legal holds on a child's record (issue 24).

A held record is never destroyed by `cin retention apply`, and `cin retention plan` says so.
"""

from __future__ import annotations

import argparse

from cli.common import os_user


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    hold = subparsers.add_parser(
        "hold", help="legal holds: a held child's record is never destroyed"
    )
    commands = hold.add_subparsers(dest="hold_command", required=True)
    add = commands.add_parser("add", help="hold a child's record: retention never destroys it")
    add.add_argument("--authority", required=True, metavar="SLUG")
    add.add_argument("--child", required=True, metavar="CHILD_REF")
    add.add_argument("--reason", required=True, metavar="TEXT", help="why (an inquiry, a claim)")
    add.set_defaults(func=run_add)
    listing = commands.add_parser("list", help="holds in force: id, council, child, since, reason")
    listing.add_argument("--authority", metavar="SLUG")
    listing.add_argument("--all", action="store_true", help="released holds too")
    listing.set_defaults(func=run_list)
    release = commands.add_parser("release", help="release a hold (kept, marked released)")
    release.add_argument("hold_id", metavar="HOLD_ID", help="the id `cin hold list` shows")
    release.set_defaults(func=run_release)


def run_add(args: argparse.Namespace) -> int:
    from sqlmodel import Session

    from models.access.holds import add_hold
    from models.cases.store import sync_authorities
    from models.runtime import case_engine, policies

    policies().authority(args.authority)  # an unknown authority is refused by name
    engine = case_engine()
    with Session(engine) as session:
        sync_authorities(session, policies=policies())
    hold = add_hold(
        engine, authority=args.authority, child_ref=args.child, reason=args.reason, by=os_user()
    )
    print(f"hold {hold.id} placed ({args.authority}): the record is not destroyed while it holds")
    return 0


def run_list(args: argparse.Namespace) -> int:
    from models.access.holds import list_holds
    from models.runtime import case_engine

    holds = list_holds(case_engine(), authority=args.authority, released=args.all)
    for h in holds:
        state = (
            f"released {h.released_at:%Y-%m-%d} by {h.released_by}" if h.released_at else "in force"
        )
        print(
            f"{h.id}  {h.authority:20} {h.child_ref:16} since {h.placed_at:%Y-%m-%d} by "
            f"{h.placed_by}  {state}  {h.reason}"
        )
    print(f"{len(holds)} hold(s)")
    return 0


def run_release(args: argparse.Namespace) -> int:
    from models.access.holds import release_hold
    from models.runtime import case_engine

    hold = release_hold(case_engine(), hold_id=args.hold_id, by=os_user())
    print(f"hold {hold.id} released ({hold.authority})")
    return 0
