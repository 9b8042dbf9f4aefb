"""Which case a record about a child belongs to, when the recording system has no case reference.

A bulk file may address a child ("redbridge", "SYN-000123") rather than a case. The record goes to
the child's open case in that authority; an opening event (a referral, a transfer in) starts one.
Before anything else, the idempotency key is looked for on every case of the child: a record sent
twice is the same record even after the case it opened has closed and a re-referral opened another.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import distinct, exists, func
from sqlmodel import Session, col, select

from models.tables import Case, CaseEvent, Outbox

OPENING_EVENTS = frozenset({"referral_received", "transfer_in"})


@dataclass(frozen=True, slots=True)
class ChildCase:
    case_ref: str
    stage: str
    holds_key: bool  # an event with the record's idempotency key is already logged here


@dataclass(frozen=True, slots=True)
class Resolution:
    """Where a record goes: `case_ref` to record on, or None with `opens` to open a new case."""

    case_ref: str | None = None
    opens: bool = False
    duplicate: bool = False  # the key is already logged on `case_ref`
    refused: str | None = None  # why it cannot go anywhere


def child_cases(session: Session, *, authority: str, child_ref: str, key: str) -> list[ChildCase]:
    """Every case of the child in the authority, oldest first, marking the one holding `key`."""
    logged = exists().where(
        col(CaseEvent.case_id) == col(Case.id), col(CaseEvent.idempotency_key) == key
    )
    rows = session.exec(
        select(Case.case_ref, Case.stage, logged)
        .where(Case.authority == authority, Case.child_ref == child_ref)
        .order_by(col(Case.referral_date), col(Case.created_at))
    ).all()
    return [ChildCase(case_ref, stage, bool(holds)) for case_ref, stage, holds in rows]


def resolve(cases: list[ChildCase], *, event_type: str) -> Resolution:
    """Pick the case for a record of `event_type` among the child's `cases` (from `child_cases`)."""
    holding = next((c for c in cases if c.holds_key), None)
    if holding is not None:
        return Resolution(case_ref=holding.case_ref, duplicate=True)
    open_cases = [c for c in cases if c.stage != "closed"]
    if event_type in OPENING_EVENTS:
        if open_cases:
            return Resolution(
                refused=f"{event_type} refused: the child already has an open case "
                f"{open_cases[-1].case_ref} (a new referral needs it closed first)"
            )
        return Resolution(opens=True)
    if not open_cases:
        return Resolution(
            refused=f"{event_type} refused: the child has no open case in this authority "
            "(a case starts with referral_received or transfer_in)"
        )
    if len(open_cases) > 1:
        refs = ", ".join(c.case_ref for c in open_cases)
        why = f"{event_type} refused: the child has open cases {refs}; give the case reference"
        return Resolution(refused=why)
    return Resolution(case_ref=open_cases[0].case_ref)


def children_of_cases(session: Session, *, case_refs: list[str]) -> dict[str, tuple[str, str]]:
    """(authority, child_ref) of each known case reference; unknown ones are left out."""
    found: dict[str, tuple[str, str]] = {}
    for i in range(0, len(case_refs), 1000):
        rows = session.exec(
            select(Case.case_ref, Case.authority, Case.child_ref).where(
                col(Case.case_ref).in_(case_refs[i : i + 1000])
            )
        )
        found.update({ref: (authority, child) for ref, authority, child in rows})
    return found


def undelivered_cases(session: Session) -> int:
    """Cases with accepted events not yet delivered to their flow runs (the reconciler's work)."""
    pending = select(func.count(distinct(col(Outbox.case_id)))).where(
        col(Outbox.delivered_at).is_(None)
    )
    return int(session.exec(pending).one())
