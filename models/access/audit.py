"""The access log: who read or wrote which case, when, and how it went (no request body).

Written by the HTTP API for every request (api/guard.py) and by every read outside it (issue 24:
`cin case show`, `cin child export`, one row per census export naming only its authority):
`actor_kind` is api or cli. `cin audit --case REF` and `cin audit --child REF` read it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, and_, or_
from sqlmodel import Session, col, select

from models.fields import check_case_ref
from models.tables import AuditEntry, Case


def write_audit(
    engine: Engine,
    *,
    actor_kind: str,
    actor: str,
    action: str,
    outcome: str,
    authority: str | None = None,
    case_ref: str | None = None,
    child_ref: str | None = None,
    at: datetime | None = None,
) -> None:
    """One row, in its own transaction (a refused request writes its audit row all the same)."""
    entry = bounded(
        AuditEntry(
            actor_kind=actor_kind,
            actor=actor,
            action=action,
            outcome=outcome,
            authority=authority,
            case_ref=case_ref,
            child_ref=child_ref,
        )
    )
    if at is not None:
        entry.at = at
    with Session(engine) as session:
        session.add(entry)
        session.commit()


def bounded(entry: AuditEntry) -> AuditEntry:
    """`entry` with each text cut to its column's length (the HTTP API adds its rows to the
    request's own transaction: `api/guard.py`)."""
    entry.actor, entry.action, entry.outcome = (
        entry.actor[:200],
        entry.action[:80],
        entry.outcome[:80],
    )
    entry.case_ref = entry.case_ref[:32] if entry.case_ref else None
    entry.child_ref = entry.child_ref[:64] if entry.child_ref else None
    return entry


def audit_for_case(engine: Engine, case_ref: str) -> list[AuditEntry]:
    """Every access to `case_ref`, oldest first."""
    check_case_ref(case_ref)
    with Session(engine) as session:
        query = select(AuditEntry).where(AuditEntry.case_ref == case_ref)
        return list(session.exec(query.order_by(col(AuditEntry.at), col(AuditEntry.id))))


def audit_for_child(
    engine: Engine, child_ref: str, authority: str | None = None
) -> list[AuditEntry]:
    """Every access to the child's record, oldest first: rows naming the child, and rows about
    any of the child's cases (an API read of a case names the case only)."""
    with Session(engine) as session:
        cases = select(Case.case_ref).where(Case.child_ref == child_ref)
        named = col(AuditEntry.child_ref) == child_ref
        if authority is not None:
            cases = cases.where(Case.authority == authority)
            named = and_(named, col(AuditEntry.authority) == authority)
        query = select(AuditEntry).where(or_(named, col(AuditEntry.case_ref).in_(cases)))
        return list(session.exec(query.order_by(col(AuditEntry.at), col(AuditEntry.id))))
