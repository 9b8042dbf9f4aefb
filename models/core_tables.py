"""The few tables a read command touches, as SQLAlchemy Core clauses: no SQLModel, no pydantic.

`models.tables` (SQLModel) is the schema's shape and Alembic owns the schema; building its
classes costs most of a second of CPU, which `cin case show` would pay before answering
(issue 20: a command answers at the speed of a command). These clauses name only the columns
that command reads or writes, with the same storage types; tests/cli/test_case_show_core.py
checks them against `models.tables` column by column, so they cannot drift apart.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, DateTime, Integer, String, Uuid, column, table
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """SQLModel's `UTCDateTime` (an aware datetime, stored in UTC, read back in UTC), which
    cannot be imported without the whole of SQLModel."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError("expected a datetime with a time zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.utcoffset() is None else value.astimezone(UTC)


case_table = table(
    "case",
    column("id", Uuid),
    column("case_ref", String),
    column("authority", String),
    column("child_ref", String),
    column("team", String),
    column("stage", String),
    column("referral_date", Date),
    column("re_referral", Boolean),
    column("state", JSON),
    column("last_seq", Integer),
    column("flow_seq", Integer),
)

case_event_table = table(
    "case_event",
    column("case_id", Uuid),
    column("seq", Integer),
    column("event_type", String),
    column("occurred_on", Date),
    column("recorded_at", UtcDateTime),
    column("actor_kind", String),
    column("actor", String),
    column("recorded_by", String),
)

deadline_table = table(
    "deadline",
    column("case_id", Uuid),
    column("key", String),
    column("kind", String),
    column("due", Date),
    column("status", String),
    column("policy_ref", String),
    column("explanation", String),
    column("met_on", Date),
)

outbox_table = table(
    "outbox",
    column("case_id", Uuid),
    column("seq", Integer),
    column("delivered_at", UtcDateTime),
)

audit_log_table = table(
    "audit_log",
    column("id", Uuid),
    column("at", UtcDateTime),
    column("actor_kind", String),
    column("actor", String),
    column("action", String),
    column("authority", String),
    column("case_ref", String),
    column("child_ref", String),
    column("outcome", String),
)

CORE_TABLES = (case_table, case_event_table, deadline_table, outbox_table, audit_log_table)
