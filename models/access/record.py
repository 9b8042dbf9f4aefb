"""Everything the case database holds about one child (a subject access request, issue 24).

Every table of `models.tables` is named here: how its rows belong to a child (`LINKS`), or why
none does (`NOT_ABOUT_A_CHILD`). `child_record` refuses to run while a table is in neither, so a
new table cannot be left out of a subject access request unnoticed (tests/models/access checks
it too). Left out of rows: only what is addressed to someone else (`LEFT_OUT`: an alert's or a
message's body is written for its recipient, and a digest's body lists other children's cases).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import Column, Table, false, select
from sqlmodel import Session, SQLModel

from models import tables  # noqa: F401  (every table registered on the metadata)
from models.fields import FieldRefused

LinkKind = Literal["child", "case_id", "case_ref", "alert_dispatch", "audit"]

# table -> how its rows belong to a child
LINKS: dict[str, LinkKind] = {
    "child": "child",  # authority + child_ref
    "case": "child",
    "legal_hold": "child",
    "contact": "child",  # contacts at the front door (Annex A list 1), before any case
    "case_event": "case_id",  # rows of the child's cases
    "case_allocation": "case_id",  # who held each case, and from when
    "deadline": "case_id",
    "outbox": "case_id",
    "case_work": "case_id",
    "drift": "case_id",
    "alert": "case_ref",  # alerts about the child's cases
    "dispatch": "alert_dispatch",  # the messages that carried those alerts
    "audit_log": "audit",  # accesses naming the child or one of its cases
}
NOT_ABOUT_A_CHILD: dict[str, str] = {
    "authority": "the councils the engine serves",
    "staff": "staff rosters: staff data, no child's",
    "engine_instance": "this database's id on Prefect servers",
    "api_client": "recording systems' keys",
    "api_idempotency": "digests of request bodies: no child can be read from them",
    "destruction_log": "one-way hashes of destroyed children's references: unlinkable by design",
}
# columns left out of the export: written for their recipient, not about the child alone
LEFT_OUT: dict[str, tuple[str, ...]] = {
    "alert": ("body",),
    "dispatch": ("body", "subject", "recipient"),
}


class UnknownChild(FieldRefused):
    """No row of any table names the child (the message never repeats the reference)."""


@dataclass(frozen=True)
class ChildRecord:
    authority: str
    child_ref: str
    tables: dict[str, list[dict[str, Any]]]  # every table's rows about the child

    @property
    def case_refs(self) -> list[str]:
        return [row["case_ref"] for row in self.tables["case"]]


def unclassified() -> list[str]:
    """Tables neither linked to a child nor said not to be about one (expected: none)."""
    names = set(SQLModel.metadata.tables)
    return sorted(names - set(LINKS) - set(NOT_ABOUT_A_CHILD))


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _rows(session: Session, table: Table, where: Any) -> list[dict[str, Any]]:
    left_out = LEFT_OUT.get(table.name, ())
    columns: Sequence[Column[Any]] = [c for c in table.columns if c.name not in left_out]
    order = list(table.primary_key.columns)
    found = session.execute(select(*columns).where(where).order_by(*order)).mappings()
    return [{k: _plain(v) for k, v in row.items()} for row in found]


def child_record(session: Session, *, authority: str, child_ref: str) -> ChildRecord:
    """Every row about the child `child_ref` of `authority`, table by table."""
    missing = unclassified()
    if missing:  # a programming error: a new table must say whether it is about a child
        raise RuntimeError(f"tables not classified for a child's record: {', '.join(missing)}")
    meta = SQLModel.metadata.tables
    case = meta["case"]
    case_ids = [
        r[0]
        for r in session.execute(
            select(case.c.id).where(case.c.authority == authority, case.c.child_ref == child_ref)
        )
    ]
    case_refs = [
        r[0] for r in session.execute(select(case.c.case_ref).where(case.c.id.in_(case_ids)))
    ]
    alert = meta["alert"]
    dispatch_ids = select(alert.c.dispatch_id).where(alert.c.case_ref.in_(case_refs))
    found: dict[str, list[dict[str, Any]]] = {}
    for name, link in LINKS.items():
        table = meta[name]
        where: Any
        if link == "child":
            where = (table.c.authority == authority) & (table.c.child_ref == child_ref)
        elif link == "case_id":
            where = table.c.case_id.in_(case_ids) if case_ids else false()
        elif link == "case_ref":
            where = table.c.case_ref.in_(case_refs) if case_refs else false()
        elif link == "alert_dispatch":
            where = table.c.id.in_(dispatch_ids) if case_refs else false()
        else:  # audit: rows naming the child, or one of its cases
            named = (table.c.authority == authority) & (table.c.child_ref == child_ref)
            where = named | table.c.case_ref.in_(case_refs) if case_refs else named
        found[name] = _rows(session, table, where)
    if not found["child"] and not found["case"] and not found["legal_hold"]:
        raise UnknownChild(f"child: expected a child with details or cases at {authority}")
    return ChildRecord(authority, child_ref, found)
