"""Contacts at the front door (`cin contact record`, issue 22): a fact of their own, never a case.

A contact is what reaches children's services before any decision to refer: Ofsted's Annex A
List 1. The same child, day and source twice is one contact (recording it again changes
nothing), so an import can be run again.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models.fields import check_child_ref
from models.lifecycle.codes import REFERRAL_SOURCES
from models.lifecycle.errors import EventRefused
from models.tables import Authority, Contact


def add_contact(
    session: Session, *, authority: str, child_ref: str, on: date, source: str, today: date
) -> bool:
    """Add a contact to `session`'s transaction (not committed); False when it was already
    recorded. A contact dated after `today` (the engine's clock), an unknown source or authority
    is refused. `cin import`'s bulk path calls this inside its chunk's transaction."""
    check_child_ref(child_ref)
    if source not in REFERRAL_SOURCES:
        raise EventRefused(
            "contact refused: source: expected a code from the DfE referral source list, "
            "e.g. 1A, 2A, 5C, 10"
        )
    if on > today:
        raise EventRefused(f"contact refused: date: expected a day on or before today ({today})")
    if session.get(Authority, authority) is None:
        raise EventRefused(f"contact refused: authority: no authority {authority!r}")
    same = select(Contact.id).where(
        Contact.authority == authority,
        Contact.child_ref == child_ref,
        Contact.contact_on == on,
        Contact.source == source,
    )
    if session.exec(same).first() is not None:
        return False
    session.add(Contact(authority=authority, child_ref=child_ref, contact_on=on, source=source))
    return True


def record_contact(
    engine: Engine, *, authority: str, child_ref: str, on: date, source: str, today: date
) -> bool:
    """Record a contact in a transaction of its own; False when it was already recorded."""
    with Session(engine) as session:
        added = add_contact(
            session, authority=authority, child_ref=child_ref, on=on, source=source, today=today
        )
        if not added:
            return False
        try:
            session.commit()
        except IntegrityError:  # the same contact, recorded meanwhile by another process
            session.rollback()
            return False
    return True
