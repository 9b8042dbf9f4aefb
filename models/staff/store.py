"""Staff rows and case allocation: the roster import and `cin case allocate`.

A roster import is the authority's whole staff list: one transaction adds and updates everyone on
it and marks everyone of that authority left off it inactive (rows are never deleted: alerts and
cases keep naming their staff_id). Allocation puts a case with an active worker (or a team
manager, who can hold cases) of the case's own authority, and the case takes that person's team.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Engine
from sqlalchemy import select as columns
from sqlmodel import Session, col, select

from models.cases.reads import UnknownCase
from models.fields import STAFF_ID, check_case_ref
from models.policy.parts import Role
from models.staff.roster import CASE_HOLDERS, Person, StaffRow
from models.tables import Authority, Case, CaseAllocation, Staff, utcnow


class UnknownAuthority(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


class UnknownStaff(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


class AllocationRefused(ValueError):
    """The staff member exists but cannot take the case (inactive, wrong role, closed case)."""


@dataclass(frozen=True)
class ImportReport:
    authority: str
    added: int
    updated: int  # changed details, or back on the roster after being inactive
    unchanged: int
    deactivated: int  # active before, left off this file
    by_role: Mapping[str, int] = field(default_factory=dict)  # the active roster after the import
    # open cases still allocated to someone now inactive: they need allocating again
    cases_with_inactive_worker: int = 0

    @property
    def active(self) -> int:
        return self.added + self.updated + self.unchanged


@dataclass(frozen=True)
class Allocation:
    case_ref: str
    authority: str
    previous_worker: str | None
    previous_team: str | None
    worker_id: str
    team: str | None
    changed: bool  # False: the case was already with this worker in this team; nothing written


_DETAILS = ("name", "email", "role", "team", "manager_id")


def import_staff(engine: Engine, *, authority: str, rows: Iterable[StaffRow]) -> ImportReport:
    """Make the authority's staff rows match `rows` (its whole roster), in one transaction."""
    roster = list(rows)
    ids = [r.staff_id for r in roster]
    if len(set(ids)) != len(ids):
        raise ValueError("a staff_id appears twice in the roster")  # parse_staff_csv refuses it
    with Session(engine, expire_on_commit=False) as session:
        _lock_authority(session, authority)
        existing = {
            s.staff_id: s for s in session.exec(select(Staff).where(Staff.authority == authority))
        }
        now = utcnow()
        added = updated = unchanged = deactivated = 0
        for row in roster:
            wanted: dict[str, str | None] = {
                "name": row.name,
                "email": row.email,
                "role": str(row.role.value),
                "team": row.team,
                "manager_id": row.manager_id,
            }
            staff = existing.get(row.staff_id)
            if staff is None:
                session.add(
                    Staff(
                        authority=authority,
                        staff_id=row.staff_id,
                        name=row.name,
                        email=row.email,
                        role=str(row.role.value),
                        team=row.team,
                        manager_id=row.manager_id,
                        updated_at=now,
                    )
                )
                added += 1
                continue
            if staff.active and all(getattr(staff, k) == wanted[k] for k in _DETAILS):
                unchanged += 1
                continue
            for key, value in wanted.items():
                setattr(staff, key, value)
            staff.active = True
            staff.updated_at = now
            session.add(staff)
            updated += 1
        on_roster = set(ids)
        for staff_id, staff in existing.items():
            if staff_id not in on_roster and staff.active:
                staff.active = False
                staff.updated_at = now
                session.add(staff)
                deactivated += 1
        session.flush()
        inactive = [s for s in existing if s not in on_roster]
        held = 0
        if inactive:
            held = len(
                list(
                    session.exec(
                        select(col(Case.id)).where(
                            Case.authority == authority,
                            col(Case.worker_id).in_(inactive),
                            Case.stage != "closed",
                        )
                    )
                )
            )
        session.commit()
    by_role = Counter(str(r.role.value) for r in roster)
    return ImportReport(
        authority=authority,
        added=added,
        updated=updated,
        unchanged=unchanged,
        deactivated=deactivated,
        by_role={role.value: by_role.get(role.value, 0) for role in Role},
        cases_with_inactive_worker=held,
    )


def allocate(
    engine: Engine, *, case_ref: str, worker_id: str, on: date | None = None
) -> Allocation:
    """Allocate a case to a worker of its authority on `on` (the engine's today, from the
    caller; the UTC date when not given); the case moves to the worker's team. Each change is
    kept as a dated `case_allocation` row: Annex A's "allocated at the time"."""
    check_case_ref(case_ref)
    STAFF_ID.check(worker_id, field="worker")
    with Session(engine, expire_on_commit=False) as session:
        case = session.exec(select(Case).where(Case.case_ref == case_ref).with_for_update()).first()
        if case is None:
            raise UnknownCase(f"no case {case_ref!r}")
        staff = session.get(Staff, (case.authority, worker_id))
        if staff is None:
            raise UnknownStaff(f"no staff member {worker_id!r} in {case.authority}")
        if not staff.active:
            raise AllocationRefused(
                f"staff member {worker_id!r} of {case.authority} is inactive "
                "(not on the last roster import)"
            )
        if staff.role not in CASE_HOLDERS:
            holders = " or ".join(r.value for r in CASE_HOLDERS)
            raise AllocationRefused(
                f"staff member {worker_id!r} is a {staff.role}: only a {holders} can hold cases"
            )
        if case.stage == "closed":
            raise AllocationRefused(f"case {case_ref} is closed")
        team = staff.team or case.team
        before = (case.worker_id, case.team)
        changed = before != (worker_id, team)
        if changed:
            case.worker_id = worker_id
            case.team = team
            case.updated_at = utcnow()
            session.add(case)
            session.add(
                CaseAllocation(
                    case_id=case.id,
                    allocated_on=on or case.updated_at.date(),
                    team=team,
                    worker_id=worker_id,
                    previous_team=before[1],
                )
            )
            session.commit()
        else:
            session.rollback()
        return Allocation(
            case_ref=case.case_ref,
            authority=case.authority,
            previous_worker=before[0],
            previous_team=before[1],
            worker_id=worker_id,
            team=team,
            changed=changed,
        )


def _lock_authority(session: Session, slug: str) -> Authority:
    row = session.exec(select(Authority).where(Authority.slug == slug).with_for_update()).first()
    if row is None:
        raise UnknownAuthority(
            f"unknown authority {slug!r}: no policy file loaded for it (see `cin init`)"
        )
    return row


def staff_email(session: Session, authority: str, staff_id: str) -> str | None:
    row = session.get(Staff, (authority, staff_id))
    return row.email if row is not None and row.active else None


def active_staff(session: Session, authority: str) -> list[Person]:
    rows = session.execute(
        columns(col(Staff.staff_id), col(Staff.role), col(Staff.team), col(Staff.manager_id)).where(
            col(Staff.authority) == authority, col(Staff.active)
        )
    ).all()
    return [Person(*row) for row in rows]
