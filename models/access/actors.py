"""Who recorded an event: the channel, the client or operating-system user, and the staff id.

Every event the store accepts carries an `Actor` (DESIGN.md: "every record says who made it").
The staff id is checked against the authority's roster once it has one (`cin staff import`);
before that any well-formed id is taken, as teams are (models/store.py). Names never appear:
only staff ids, which is what `cin case show` and the timeline artifact print.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Literal

from models.fields import STAFF_ID, FieldRefused

if TYPE_CHECKING:
    from sqlalchemy import Select
    from sqlmodel import Session

ActorKind = Literal["api", "cli", "python", "unknown"]
UNKNOWN_ACTOR = "unknown (before recording of actors)"  # migration 0009's mark on older events


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    name: str  # the API client ("name (key id)") or the operating-system user
    recorded_by: str | None = None  # the staff id the record names

    def describe(self) -> str:
        by = f" for {self.recorded_by}" if self.recorded_by else ""
        return f"{self.kind}:{self.name}{by}"


def check_recorded_by(session: Session, authority: str, staff_id: str | None) -> str | None:
    """`staff_id` if well formed and, when the authority has a roster, an active member of it."""
    if staff_id is None:
        return None
    STAFF_ID.check(staff_id, field="recorded_by")
    params = {"authority": authority, "staff_id": staff_id}
    member = session.connection().execute(_roster_row(), params).first()
    if member is not None and not (member[0] == staff_id and member[1]):
        raise FieldRefused(
            f"recorded_by: expected an active staff id on {authority}'s roster; got {staff_id!r}"
        )
    return staff_id


@cache
def _roster_row() -> Select[str, bool]:
    """One row, not the roster: this staff id's if it is on it, else any (a roster exists).
    Built once a process (each accepted event asks), and here, not at the top: `cin case show`
    prints `actor_text` without loading SQLModel."""
    from sqlalchemy import bindparam, select

    from models.tables import Staff

    staff = Staff.__table__  # type: ignore[attr-defined]
    return (
        select(staff.c.staff_id, staff.c.active)
        .where(staff.c.authority == bindparam("authority"))
        .order_by((staff.c.staff_id == bindparam("staff_id")).desc())
        .limit(1)
    )


def actor_text(kind: str, name: str, recorded_by: str | None) -> str:
    """One event's actor as `cin case show` and the timeline print it (staff id, never a name)."""
    if kind == "unknown":
        return name
    return f"{kind}:{name}" + (f" by {recorded_by}" if recorded_by else "")
