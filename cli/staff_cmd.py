"""`cin staff import | list`: one council's roster, who manages whom, who can hold cases.

Staff names and email addresses are personal data: `import` prints counts only, problems name a
line and a field (never the value of a name or an address), and `list` shows them only when
asked (`--with-contact`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from cli.common import CliError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    staff = subparsers.add_parser("staff", help="staff rosters: who holds cases, who manages whom")
    commands = staff.add_subparsers(dest="staff_command", required=True)

    load = commands.add_parser(
        "import",
        help="replace an authority's roster with a CSV file",
        description="The file is the authority's whole roster, with the header "
        "staff_id,name,email,role,team,manager_id. Everyone on it is added or updated and active; "
        "everyone of the authority left off it becomes inactive. A file with any problem is "
        "refused whole (every problem listed on stderr, exit 1) and nothing is written.",
    )
    load.add_argument("file", type=Path, metavar="FILE.csv")
    load.add_argument("--authority", required=True, metavar="SLUG")
    load.set_defaults(func=run_import)

    listing = commands.add_parser("list", help="an authority's staff (ids, roles, teams)")
    listing.add_argument("--authority", required=True, metavar="SLUG")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.add_argument(
        "--with-contact", action="store_true", help="also show names and email addresses"
    )
    listing.add_argument("--active", action="store_true", help="only active staff")
    listing.set_defaults(func=run_list)


def _engine() -> Engine:
    """The case database, with a row for every authority that has a policy file."""
    from models.cases.store import sync_authorities
    from models.runtime import case_engine, policies

    engine = case_engine()
    with Session(engine) as session:
        sync_authorities(session, policies=policies())
    return engine


def run_import(args: argparse.Namespace) -> int:
    from models.staff.roster import StaffFileError, parse_staff_csv
    from models.staff.store import import_staff

    try:
        text = args.file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CliError(f"{args.file}: not UTF-8 text; nothing imported") from None
    try:
        rows = parse_staff_csv(text)
    except StaffFileError as error:
        sys.stderr.writelines(f"{args.file}: {problem}\n" for problem in error.problems)
        count = len(error.problems)
        sys.stderr.write(
            f"cin: error: {args.file}: {count} problem{'s' * (count != 1)}; nothing imported\n"
        )
        return 1
    report = import_staff(_engine(), authority=args.authority, rows=rows)
    print(
        f"imported {report.active} staff for {report.authority}: {report.added} added, "
        f"{report.updated} updated, {report.unchanged} unchanged, "
        f"{report.deactivated} deactivated"
    )
    print("roster: " + ", ".join(f"{role} {n}" for role, n in report.by_role.items()))
    if report.cases_with_inactive_worker:
        print(
            f"{report.cases_with_inactive_worker} open case(s) are allocated to inactive staff: "
            "allocate them again with `cin case allocate`"
        )
    return 0


def _cell(value: object) -> str:
    """A stored value as one safe cell: rows imported before the checks of `models.staff.roster` may
    hold a line break, a control code or a spreadsheet formula; shown escaped, never run."""
    if value is None:
        return ""
    text = "".join(ch if ch.isprintable() else "?" for ch in str(value))
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def run_list(args: argparse.Namespace) -> int:
    from models.tables import Authority, Staff

    engine = _engine()
    with Session(engine) as session:
        if session.get(Authority, args.authority) is None:
            raise CliError(f"unknown authority {args.authority!r}")
        query = select(Staff).where(Staff.authority == args.authority)
        if args.active:
            query = query.where(col(Staff.active))
        staff = list(session.exec(query.order_by(col(Staff.staff_id))))
    rows: list[dict[str, object]] = []
    for s in staff:
        row: dict[str, object] = {
            "staff_id": s.staff_id,
            "role": s.role,
            "team": s.team,
            "manager_id": s.manager_id,
            "active": s.active,
        }
        if args.with_contact:
            row["name"] = s.name
            row["email"] = s.email
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        line = (
            f"{_cell(row['staff_id'])!s:16} {row['role']!s:16} {_cell(row['team']) or '-'!s:16} "
            f"{_cell(row['manager_id']) or '-'!s:16} {'active' if row['active'] else 'inactive'}"
        )
        if args.with_contact:
            line += f"  {_cell(row['name'])} <{_cell(row['email'])}>"
        print(line.rstrip())
    active = sum(1 for s in staff if s.active)
    print(f"{len(staff)} staff in {args.authority} ({active} active)")
    return 0
