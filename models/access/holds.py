"""Legal holds (issue 24): while a hold is in force, retention never destroys the child's record.

A hold names the child and the reason (an inquiry, a claim); it is released, never deleted, so
the record shows when it was held and by whom.
"""

from __future__ import annotations

import re
import uuid

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from models.fields import FieldRefused, FieldRule, check_held_child_ref
from models.tables import Authority, LegalHold, utcnow

REASON = FieldRule("--reason", 500, re.compile(r"[^\x00-\x1f\x7f]+"), "printable text")


def add_hold(engine: Engine, *, authority: str, child_ref: str, reason: str, by: str) -> LegalHold:
    check_held_child_ref(child_ref, field="--child")
    REASON.check(reason)
    with Session(engine) as session:
        if session.get(Authority, authority) is None:
            raise FieldRefused(f"--authority: expected one with a policy file; got {authority!r}")
        hold = LegalHold(authority=authority, child_ref=child_ref, reason=reason, placed_by=by)
        session.add(hold)
        session.commit()
        session.refresh(hold)
        return hold


def list_holds(
    engine: Engine, *, authority: str | None = None, released: bool = False
) -> list[LegalHold]:
    """Holds in force (and, with `released`, released ones too), oldest first."""
    with Session(engine) as session:
        query = select(LegalHold).order_by(col(LegalHold.placed_at), col(LegalHold.id))
        if authority is not None:
            query = query.where(LegalHold.authority == authority)
        if not released:
            query = query.where(col(LegalHold.released_at).is_(None))
        return list(session.exec(query))


def release_hold(engine: Engine, *, hold_id: str, by: str) -> LegalHold:
    try:
        key = uuid.UUID(hold_id)
    except ValueError:
        raise FieldRefused(
            f"hold id: expected the id `cin hold list` shows; got {hold_id!r}"
        ) from None
    with Session(engine) as session:
        hold = session.exec(select(LegalHold).where(LegalHold.id == key).with_for_update()).first()
        if hold is None:
            raise FieldRefused(f"hold id: expected one `cin hold list` shows; got {hold_id!r}")
        if hold.released_at is not None:
            raise FieldRefused(f"hold id: {hold_id} was released already; nothing changed")
        hold.released_at, hold.released_by = utcnow(), by
        session.add(hold)
        session.commit()
        session.refresh(hold)
        return hold


def held(session: Session, authority: str) -> set[str]:
    """The children of `authority` with a hold in force."""
    query = select(LegalHold.child_ref).where(
        LegalHold.authority == authority, col(LegalHold.released_at).is_(None)
    )
    return set(session.exec(query))
