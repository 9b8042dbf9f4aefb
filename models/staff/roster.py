"""A council's staff roster as a CSV file, checked whole; and who manages whom (pure, no database).

The file is one authority's whole roster (`cin staff import`), one person a line under the header
`staff_id,name,email,role,team,manager_id`. Every problem is gathered before anything is refused,
each naming its line, the field and what was expected. Problems never quote a name or an email
address: those are staff data, and error output ends up in terminals and logs.

`manager_with_role` answers "who is told at this rung" for a case: walk up the manager chain from
the allocated worker, or from the team's manager when nobody (active) is allocated.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, TypeVar

from models.fields import PERSON_NAME, STAFF_ID, TEAM, shown
from models.policy.parts import Role

HEADER = ("staff_id", "name", "email", "role", "team", "manager_id")
MAX_ID = 64  # staff.staff_id, staff.manager_id, staff.team
MAX_NAME = 200
MAX_EMAIL = 254
ROLES = tuple(r.value for r in Role)
# the role each role's manager must hold; the top of the chain has no manager
MANAGER_ROLE: dict[Role, Role | None] = {
    Role.WORKER: Role.TEAM_MANAGER,
    Role.TEAM_MANAGER: Role.SERVICE_MANAGER,
    Role.SERVICE_MANAGER: Role.HEAD_OF_SERVICE,
    Role.HEAD_OF_SERVICE: None,
}
NEEDS_TEAM = (Role.WORKER, Role.TEAM_MANAGER)
# roles that can hold (be allocated) cases
CASE_HOLDERS = (Role.WORKER, Role.TEAM_MANAGER)
# one @, no spaces or separators, a dot in the domain: catches typos, not deliverability
_FORMULA = "=+-@"  # a cell starting with one of these is a formula to a spreadsheet
_EMAIL = re.compile(r"^[^@\s,;<>()\[\]\"]+@[^@\s,;<>()\[\]\"]+\.[^@\s,;<>()\[\]\".]+$")


class StaffFileError(ValueError):
    """The file was refused; `problems` holds every reason, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)

    def __str__(self) -> str:
        return "\n".join(self.problems)


@dataclass(frozen=True)
class StaffRow:
    staff_id: str
    name: str
    email: str
    role: Role
    team: str | None
    manager_id: str | None
    line: int = 0  # where it was in the file (0 = not from a file)

    @property
    def active(self) -> bool:
        return True  # everyone on the roster is active; those left off it are not


def parse_staff_csv(text: str) -> tuple[StaffRow, ...]:
    """The rows of a staff file, in file order; `StaffFileError` listing every problem if bad."""
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, [])
    except csv.Error as error:
        raise StaffFileError([f"line 1: header is not valid CSV ({error})"]) from None
    if tuple(cell.strip() for cell in header) != HEADER:
        got = ",".join(header).rstrip()
        raise StaffFileError(
            [f"line 1: header must be exactly {','.join(HEADER)}; got {got[:120]!r}"]
        )

    problems: list[str] = []
    cells: list[tuple[int, list[str]]] = []
    end = reader.line_num
    while True:
        line = end + 1
        try:
            record = next(reader, None)
        except csv.Error as error:
            problems.append(f"line {line}: not valid CSV ({error})")
            break
        if record is None:
            break
        end = reader.line_num
        if not any(cell.strip() for cell in record):
            continue  # blank line
        if len(record) != len(HEADER):
            problems.append(
                f"line {line}: expected {len(HEADER)} fields ({','.join(HEADER)}); "
                f"got {len(record)}"
            )
            continue
        cells.append((line, [cell.strip() for cell in record]))

    rows = _check_rows(cells, problems)
    if not rows and not problems:
        problems.append(
            "line 2: no staff rows (the file is the authority's whole roster; "
            "an empty one would deactivate everybody)"
        )
    if problems:
        raise StaffFileError(problems)
    return rows


def _check_rows(cells: list[tuple[int, list[str]]], problems: list[str]) -> tuple[StaffRow, ...]:
    """Check each row on its own, then the references between rows; append to `problems`."""
    first_line: dict[str, int] = {}
    rows: list[StaffRow] = []
    for line, (staff_id, name, email, role_text, team, manager_id) in cells:
        problem_count = len(problems)

        def bad(message: str, line: int = line) -> None:
            problems.append(f"line {line}: {message}")

        if not staff_id:
            bad("staff_id is empty (expected an identifier)")
        elif len(staff_id) > MAX_ID:
            bad(f"staff_id is {len(staff_id)} characters (expected at most {MAX_ID})")
        elif not STAFF_ID.pattern.fullmatch(staff_id):
            bad(f"staff_id has a character outside {STAFF_ID.charset}")
        elif staff_id in first_line:
            bad(f"staff_id {staff_id!r} is already on line {first_line[staff_id]}")
        else:
            first_line[staff_id] = line
        if not name:
            bad("name is empty (expected the person's name)")
        elif len(name) > MAX_NAME:
            bad(f"name is {len(name)} characters (expected at most {MAX_NAME})")
        elif not PERSON_NAME.pattern.fullmatch(name):
            bad(f"name is not {PERSON_NAME.charset} (a spreadsheet would run it as a formula)")
        if not email:
            bad("email is empty (expected an address like name@council.gov.uk)")
        elif len(email) > MAX_EMAIL or not _EMAIL.match(email) or email[0] in _FORMULA:
            bad("email does not look like an address (expected name@council.gov.uk)")
        role: Role | None = None
        if role_text in ROLES:
            role = Role(role_text)
        else:
            bad(f"role {shown(role_text)} is not one of {', '.join(ROLES)}")
        if len(team) > MAX_ID:
            bad(f"team is {len(team)} characters (expected at most {MAX_ID})")
        elif team and not TEAM.pattern.fullmatch(team):
            bad(f"team has a character outside {TEAM.charset}")
        elif not team and role in NEEDS_TEAM:
            assert role is not None
            bad(f"team is empty (expected the team of this {role.value})")
        if len(manager_id) > MAX_ID:
            bad(f"manager_id is {len(manager_id)} characters (expected at most {MAX_ID})")
        elif manager_id and not STAFF_ID.pattern.fullmatch(manager_id):
            bad(f"manager_id has a character outside {STAFF_ID.charset}")
        elif manager_id and manager_id == staff_id:
            bad(f"manager_id {manager_id!r} is the row's own staff_id")
        if role is not None and len(problems) == problem_count:
            rows.append(
                StaffRow(
                    staff_id=staff_id,
                    name=name,
                    email=email,
                    role=role,
                    team=team or None,
                    manager_id=manager_id or None,
                    line=line,
                )
            )
    # references: check against every staff_id in the file, even those on rows with problems
    roles = {
        staff_id: Role(role_text) if role_text in ROLES else None
        for _, (staff_id, _, _, role_text, _, _) in cells
        if staff_id
    }
    managers: dict[str, str] = {}
    for line, (staff_id, _, _, role_text, _, manager_id) in cells:
        if not manager_id or manager_id == staff_id or len(manager_id) > MAX_ID:
            continue
        if not STAFF_ID.pattern.fullmatch(manager_id):
            continue  # reported above
        if manager_id not in roles:
            problems.append(
                f"line {line}: manager_id {manager_id!r} is not a staff_id in this file "
                "(expected empty or another row's staff_id)"
            )
            continue
        if staff_id and first_line.get(staff_id) == line:
            managers[staff_id] = manager_id
        role = Role(role_text) if role_text in ROLES else None
        boss_role = roles[manager_id]
        if role is None or boss_role is None:
            continue  # the role itself is already reported
        expected = MANAGER_ROLE[role]
        if expected is None:
            problems.append(
                f"line {line}: manager_id {manager_id!r} given for a {role.value} "
                "(expected empty: the head of service is the top of the chain)"
            )
        elif boss_role is not expected:
            problems.append(
                f"line {line}: manager_id {manager_id!r} is a {boss_role.value} "
                f"(a {role.value}'s manager must be a {expected.value})"
            )
    problems.extend(_cycles(managers, first_line))
    problems.sort(key=_line_of)
    return tuple(rows)


def _cycles(managers: Mapping[str, str], first_line: Mapping[str, int]) -> list[str]:
    """One problem per manager cycle, on the line of its first member in the file."""
    found: list[str] = []
    done: set[str] = set()
    for start in sorted(managers, key=lambda s: first_line[s]):
        path: list[str] = []
        seen: set[str] = set()
        current: str | None = start
        while current is not None and current not in done and current not in seen:
            seen.add(current)
            path.append(current)
            current = managers.get(current)
        if current is not None and current in seen:
            loop = path[path.index(current) :]
            first = min(loop, key=lambda s: first_line[s])
            at = loop.index(first)
            loop = loop[at:] + loop[:at]
            chain = " -> ".join([*loop, first])
            found.append(f"line {first_line[first]}: manager_id makes a cycle ({chain})")
        done.update(path)
    return found


def _line_of(problem: str) -> int:
    number = problem.removeprefix("line ").partition(":")[0]
    return int(number) if number.isdigit() else 0


# -- routing ----------------------------------------------------------------------------------


class StaffLike(Protocol):
    """What routing reads of a person: a `Staff` row and a `StaffRow` both fit."""

    @property
    def staff_id(self) -> str: ...

    @property
    def role(self) -> str: ...

    @property
    def team(self) -> str | None: ...

    @property
    def manager_id(self) -> str | None: ...

    @property
    def active(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Person:
    """What routing needs of a staff row (no name, no address). Fits `StaffLike`."""

    staff_id: str
    role: str
    team: str | None
    manager_id: str | None
    active: bool = True


S = TypeVar("S", bound=StaffLike)


def manager_with_role(
    directory: Mapping[str, S], start_id: str | None, team: str | None, role: str
) -> S | None:
    """The active person with `role` for a case allocated to `start_id` in `team`, or None.

    From the allocated worker, walk up the manager chain (the worker included) to the first
    active person holding `role`; inactive people are passed over and the walk goes on to their
    manager. Role "worker" is the allocated person themself (a team manager can hold cases too).
    With nobody allocated, or the allocated person unknown or inactive, the walk starts from the
    team's active team manager (the first by staff_id if there are several), and there is no
    worker to tell. A cycle in the chain ends the walk.
    """
    holder = directory.get(start_id) if start_id else None
    if holder is not None and not holder.active:
        holder = None
    if role == Role.WORKER:
        return holder
    start = holder if holder is not None else _team_manager(directory, team)
    seen: set[str] = set()
    person = start
    while person is not None and person.staff_id not in seen:
        seen.add(person.staff_id)
        if person.active and person.role == role:
            return person
        person = directory.get(person.manager_id) if person.manager_id else None
    return None


def _team_manager(directory: Mapping[str, S], team: str | None) -> S | None:
    if not team:
        return None
    managers = [
        p for p in directory.values() if p.active and p.role == Role.TEAM_MANAGER and p.team == team
    ]
    return min(managers, key=lambda p: p.staff_id) if managers else None
