"""The access log: who read or wrote which case, when, and how it went (no request body).

Written by the HTTP API for every request (api/audit.py); designed for the CLI's reads too
(issue 24): `actor_kind` is api or cli. `cin audit --case REF` reads it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from models.fields import check_case_ref
from models.tables import AuditEntry


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
    entry = AuditEntry(
        actor_kind=actor_kind,
        actor=actor[:200],
        action=action[:80],
        outcome=outcome[:80],
        authority=authority,
        case_ref=case_ref[:32] if case_ref else None,
        child_ref=child_ref[:64] if child_ref else None,
    )
    if at is not None:
        entry.at = at
    with Session(engine) as session:
        session.add(entry)
        session.commit()


def audit_for_case(engine: Engine, case_ref: str) -> list[AuditEntry]:
    """Every access to `case_ref`, oldest first."""
    check_case_ref(case_ref)
    with Session(engine) as session:
        query = select(AuditEntry).where(AuditEntry.case_ref == case_ref)
        return list(session.exec(query.order_by(col(AuditEntry.at), col(AuditEntry.id))))
