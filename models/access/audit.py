"""The access log: who read or wrote which case, when, and how it went (no request body).

Written by the HTTP API for every request (api/guard.py) and by every read outside it (issue 24:
`cin case show`, `cin child export`, one row per census export naming only its authority):
`actor_kind` is api or cli. `cin audit --case REF` and `cin audit --child REF` read it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, and_, insert, or_

from models.core_tables import audit_log_table
from models.fields import check_case_ref

if TYPE_CHECKING:
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
    """One row, in its own transaction (a refused request writes its audit row all the same).

    Through SQLAlchemy Core, so a read command (`cin case show`) loads no SQLModel to log it."""
    entry = audit_values(
        actor_kind=actor_kind,
        actor=actor,
        action=action,
        outcome=outcome,
        authority=authority,
        case_ref=case_ref,
        child_ref=child_ref,
        at=at,
    )
    with engine.begin() as connection:
        connection.execute(AUDIT_INSERT, entry)


AUDIT_INSERT = insert(audit_log_table)  # executed with `audit_values`: built once a process


def audit_values(
    *,
    actor_kind: str,
    actor: str,
    action: str,
    outcome: str,
    authority: str | None = None,
    case_ref: str | None = None,
    child_ref: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """One access-log row's values for `AUDIT_INSERT`, each text cut to its column's length:
    written in its own transaction (`write_audit`) or in the HTTP API request's
    (api/transaction.py)."""
    return {
        "id": uuid.uuid4(),
        "at": at if at is not None else datetime.now(UTC),
        "actor_kind": actor_kind,
        "actor": actor[:200],
        "action": action[:80],
        "outcome": outcome[:80],
        "case_ref": case_ref[:32] if case_ref else None,
        "child_ref": child_ref[:64] if child_ref else None,
        "authority": authority,
    }


def audit_for_case(engine: Engine, case_ref: str) -> list[AuditEntry]:
    """Every access to `case_ref`, oldest first."""
    from sqlmodel import Session, col, select

    from models.tables import AuditEntry

    check_case_ref(case_ref)
    with Session(engine) as session:
        query = select(AuditEntry).where(AuditEntry.case_ref == case_ref)
        return list(session.exec(query.order_by(col(AuditEntry.at), col(AuditEntry.id))))


def audit_for_child(
    engine: Engine, child_ref: str, authority: str | None = None
) -> list[AuditEntry]:
    """Every access to the child's record, oldest first: rows naming the child, and rows about
    any of the child's cases (an API read of a case names the case only)."""
    from sqlmodel import Session, col, select

    from models.tables import AuditEntry, Case

    with Session(engine) as session:
        cases = select(Case.case_ref).where(Case.child_ref == child_ref)
        named = col(AuditEntry.child_ref) == child_ref
        if authority is not None:
            cases = cases.where(Case.authority == authority)
            named = and_(named, col(AuditEntry.authority) == authority)
        query = select(AuditEntry).where(or_(named, col(AuditEntry.case_ref).in_(cases)))
        return list(session.exec(query.order_by(col(AuditEntry.at), col(AuditEntry.id))))
