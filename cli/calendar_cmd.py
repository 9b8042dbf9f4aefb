"""`cin calendar add`: due dates by nation or by an authority's policy, one at a time or in bulk."""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np

from calendars import CalendarError, Nation, Unit, WorkingCalendar, get_calendar
from cli.common import (
    MAX_WHOLE_NUMBER,
    CliError,
    add_policy_dir_option,
    default_policy_dir,
    iso_date,
    whole_number,
)
from models.fields import parse_iso_date, shown
from models.policy.book import PolicyBook, load_policy_dir


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    calendar = subparsers.add_parser("calendar", help="working-day arithmetic")
    commands = calendar.add_subparsers(dest="calendar_command", required=True)
    add = commands.add_parser(
        "add",
        help="the due date N units after DATE",
        description="Print the due date of 'within N units of DATE' (day 0 is DATE) as the last "
        "line. With --batch, read rows start,n[,unit][,nation_or_authority] and write "
        "start,n,unit,where,due rows in the same order.",
    )
    add.add_argument(
        "date",
        nargs="?",
        type=iso_date,
        metavar="DATE",
        help="the event's date (day 0), YYYY-MM-DD",
    )
    add.add_argument(
        "n", nargs="?", type=whole_number, metavar="N", help="how many units after DATE (0 or more)"
    )
    add.add_argument(
        "--unit",
        choices=[u.value for u in Unit],
        default=Unit.WORKING_DAYS.value,
        help="what N counts (default: %(default)s)",
    )
    place = add.add_mutually_exclusive_group()
    place.add_argument("--nation", choices=[n.value for n in Nation])
    place.add_argument("--authority", metavar="SLUG", help="count under this authority's policy")
    add.add_argument("--explain", action="store_true", help="list the days skipped and why")
    add.add_argument("--batch", type=Path, metavar="FILE.csv", help="bulk rows (no header)")
    add_policy_dir_option(add)
    add.set_defaults(func=run_add)


@dataclass(frozen=True)
class Place:
    """Where a count happens: a bare nation, or an authority whose policy picks the calendar."""

    name: str
    nation: Nation | None
    authority: str | None


class Places:
    """Resolves a place name to the calendar and roll rule in force on a date."""

    def __init__(self, policy_dir: Path | None) -> None:
        self._policy_dir = policy_dir or default_policy_dir()
        self._book: PolicyBook | None = None

    def parse(self, name: str) -> Place:
        if name in Nation._value2member_map_:
            return Place(name, Nation(name), None)
        self.book().authority(name)  # refuses an unknown slug, listing the known ones
        return Place(name, None, name)

    def book(self) -> PolicyBook:
        if self._book is None:
            self._book = load_policy_dir(self._policy_dir)
        return self._book

    def calendar_on(self, place: Place, day: date) -> tuple[WorkingCalendar, bool, str]:
        """The calendar, whether to roll a non-working start forward, and a label for --explain."""
        if place.nation is not None:
            return get_calendar(place.nation), False, place.nation.value
        assert place.authority is not None
        policy = self.book().authority(place.authority).on(day)
        label = f"{policy.authority} v{policy.version} ({policy.nation.value})"
        return policy.calendar, policy.roll_non_working_start, label


def run_add(args: argparse.Namespace) -> int:
    places = Places(args.policy_dir)
    if args.batch is not None:
        if args.date is not None or args.n is not None:
            raise CliError("--batch reads its rows from the file; give no DATE or N with it")
        return run_batch(args.batch, places)
    if args.date is None or args.n is None:
        raise CliError("DATE and N are required (or --batch FILE.csv)")
    place = places.parse(args.authority or args.nation or Nation.ENGLAND.value)
    unit = Unit(args.unit)
    calendar, roll, label = places.calendar_on(place, args.date)
    count = calendar.count(args.date, args.n, unit, roll_forward=roll)
    if args.explain:
        noun = unit.value.replace("-", " ")
        print(f"{args.n} {noun[:-1] if args.n == 1 else noun} from {args.date} under {label}")
        if count.counted_from != args.date:
            print(
                f"  {args.date.isoformat()} is not a working day: counting from "
                f"{count.counted_from.isoformat()} (policy rolls a non-working start forward)"
            )
        for skipped in count.skipped:
            print(f"  skip {skipped.day.isoformat()} {skipped.day:%a}  {skipped.reason}")
        if count.clamped:
            print(
                f"  day {count.counted_from.day} does not exist in {count.due:%B %Y}: "
                "clamped to the month's end"
            )
    print(count.due.isoformat())
    return 0


def run_batch(path: Path, places: Places) -> int:
    try:
        starts, amounts, units, wheres, line_nos = _read_rows(path, places)
    except UnicodeDecodeError as error:
        raise CliError(f"{path}: expected UTF-8 text; byte {error.start} is not") from None
    due = np.empty(len(starts), dtype="datetime64[D]")
    groups: dict[tuple[Unit, str], list[int]] = defaultdict(list)
    for i, key in enumerate(zip(units, wheres, strict=True)):
        groups[key].append(i)
    start_array = np.array(starts, dtype="datetime64[D]")
    amount_array = np.array(amounts, dtype=np.int64)
    for (unit, where), rows in groups.items():
        index = np.array(rows, dtype=np.int64)
        for calendar, roll, part in _by_calendar(places, places.parse(where), start_array, index):
            try:
                due[part] = calendar.add_many(
                    start_array[part], amount_array[part], unit, roll_forward=roll
                )
            except (CalendarError, ValueError, OverflowError):  # numpy's own, past year 9999
                _raise_for_first_bad_row(
                    path, calendar, roll, unit, part, starts, amounts, line_nos
                )
                raise
    due_text = np.datetime_as_string(due, unit="D").tolist()
    out = sys.stdout
    out.writelines(
        f"{s},{n},{u.value},{w},{d}\n"
        for s, n, u, w, d in zip(starts, amounts, units, wheres, due_text, strict=True)
    )
    out.flush()
    return 0


def _raise_for_first_bad_row(
    path: Path,
    calendar: WorkingCalendar,
    roll: bool,
    unit: Unit,
    rows: np.ndarray,
    starts: list[str],
    amounts: list[int],
    line_nos: list[int],
) -> None:
    for i in sorted(rows.tolist()):
        try:
            calendar.add(date.fromisoformat(starts[i]), amounts[i], unit, roll_forward=roll)
        except CalendarError as error:
            raise CliError(f"{path} line {line_nos[i]}: {error}") from None


def _by_calendar(
    places: Places, place: Place, starts: np.ndarray, index: np.ndarray
) -> list[tuple[WorkingCalendar, bool, np.ndarray]]:
    """Split a group's rows by the calendar in force on each start date (policy versions)."""
    if place.nation is not None:
        return [(get_calendar(place.nation), False, index)]
    by_calendar: dict[tuple[int, bool], tuple[WorkingCalendar, bool, list[np.ndarray]]] = {}
    group_starts = starts[index]
    for day in np.unique(group_starts):
        calendar, roll, _ = places.calendar_on(place, day.item())
        entry = by_calendar.setdefault((id(calendar), roll), (calendar, roll, []))
        entry[2].append(index[group_starts == day])
    return [(cal, roll, np.concatenate(parts)) for cal, roll, parts in by_calendar.values()]


def _read_rows(
    path: Path, places: Places
) -> tuple[list[str], list[int], list[Unit], list[str], list[int]]:
    line_nos: list[int] = []
    starts: list[str] = []
    amounts: list[int] = []
    units: list[Unit] = []
    wheres: list[str] = []
    known_units = {u.value: u for u in Unit}
    known_places: set[str] = set()
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            line = line.strip()
            if not line:
                continue
            fields = line.split(",")
            if not 2 <= len(fields) <= 4:
                raise CliError(
                    f"{path} line {line_no}: expected start,n[,unit][,nation_or_authority]; "
                    f"got {len(fields)} fields"
                )
            start = fields[0].strip()
            try:
                parse_iso_date(start)
                amount = whole_number(fields[1].strip())
            except (ValueError, argparse.ArgumentTypeError):
                raise CliError(_bad_field(path, line_no, fields)) from None
            unit_text = (
                fields[2].strip() if len(fields) > 2 and fields[2].strip() else "working-days"
            )
            unit = known_units.get(unit_text)
            if unit is None:
                raise CliError(
                    f"{path} line {line_no}: unit: expected one of "
                    f"{', '.join(known_units)}; got {shown(unit_text)}"
                )
            where = fields[3].strip() if len(fields) > 3 and fields[3].strip() else "england"
            if where not in known_places:
                try:
                    places.parse(where)
                except (KeyError, ValueError) as error:
                    raise CliError(f"{path} line {line_no}: {_message(error)}") from None
                known_places.add(where)
            starts.append(start)
            amounts.append(amount)
            units.append(unit)
            wheres.append(where)
            line_nos.append(line_no)
    return starts, amounts, units, wheres, line_nos


def _bad_field(path: Path, line_no: int, fields: list[str]) -> str:
    try:
        parse_iso_date(fields[0].strip())
    except ValueError:
        return (
            f"{path} line {line_no}: start: expected an ISO date YYYY-MM-DD; got {shown(fields[0])}"
        )
    amount = fields[1].strip()
    if amount.isascii() and amount.isdigit():
        return f"{path} line {line_no}: n: expected at most {MAX_WHOLE_NUMBER}; got {shown(amount)}"
    return f"{path} line {line_no}: n: expected a whole number; got {shown(fields[1])}"


def _message(error: Exception) -> str:
    return str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
