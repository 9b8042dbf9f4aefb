"""Storing a child's census details: one row per (authority, child reference), replaced whole."""

from __future__ import annotations

from sqlmodel import Session

from models.census.child import ChildDetails
from models.tables import Authority, Child, utcnow


def set_child(session: Session, *, authority: str, child_ref: str, details: ChildDetails) -> bool:
    """Insert or replace the child's details (the caller commits); True if the row is new."""
    if session.get(Authority, authority) is None:
        raise ValueError(f"authority: unknown {authority!r} (no policy file has it)")
    if not child_ref or len(child_ref) > 64:
        raise ValueError("child: expected a reference of 1 to 64 characters")
    row = session.get(Child, (authority, child_ref))
    created = row is None
    if row is None:
        row = Child(authority=authority, child_ref=child_ref, sex=details.sex, ethnicity="")
    for name, value in details.model_dump().items():
        setattr(row, name, list(value) if name == "disabilities" else value)
    row.updated_at = utcnow()
    session.add(row)
    return created
