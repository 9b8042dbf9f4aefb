"""What the case database stores. Alembic owns the schema (models/migrations); these are its shape.

The event log is the truth: `case_event` rows are appended, never changed. `case.state` and the
`deadline` rows are derived from it in the same transaction that appends an event, so they are
right the moment an event is accepted; `cin case rebuild` re-derives them and must agree.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class Authority(SQLModel, table=True):
    slug: str = Field(primary_key=True, max_length=64)
    name: str
    nation: str = Field(max_length=32)
    case_prefix: str = Field(max_length=8)
    next_case_number: int = 1


class Case(SQLModel, table=True):
    __table_args__ = (Index("ix_case_authority_stage", "authority", "stage"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    case_ref: str = Field(unique=True, max_length=32)
    authority: str = Field(foreign_key="authority.slug", max_length=64)
    # the recording system's reference for the child: kept for re-referral checks only, never
    # in a log line, alert, artifact or run name
    child_ref: str = Field(index=True, max_length=64)
    team: str | None = Field(default=None, max_length=64)
    stage: str = Field(max_length=32)
    referral_date: date
    re_referral: bool = False
    state: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    last_seq: int = 0
    # the last event the case flow has done the work for; the flow resumes after it
    flow_seq: int = 0
    flow_run_id: uuid.UUID | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class CaseEvent(SQLModel, table=True):
    __tablename__ = "case_event"
    __table_args__ = (
        UniqueConstraint("case_id", "seq", name="uq_case_event_seq"),
        UniqueConstraint("case_id", "idempotency_key", name="uq_case_event_key"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    case_id: uuid.UUID = Field(foreign_key="case.id")
    seq: int
    idempotency_key: str = Field(max_length=128)
    event_type: str = Field(max_length=32)
    occurred_on: date
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    recorded_at: datetime = Field(default_factory=utcnow)


class Deadline(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("case_id", "key", name="uq_deadline_key"),
        # the monitor's query: open deadlines by due date
        Index("ix_deadline_status_due", "status", "due"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    case_id: uuid.UUID = Field(foreign_key="case.id", index=True)
    key: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    due: date
    status: str = Field(default="open", max_length=16)
    policy_ref: str = Field(max_length=80)
    explanation: str
    met_on: date | None = None
    opened_seq: int
    closed_seq: int | None = None
    escalation_level: int = 0


class Outbox(SQLModel, table=True):
    """Events accepted but not yet known to be delivered to their case's flow run."""

    __table_args__ = (Index("ix_outbox_pending", "delivered_at", "next_attempt_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    case_id: uuid.UUID = Field(foreign_key="case.id", index=True)
    seq: int
    created_at: datetime = Field(default_factory=utcnow)
    delivered_at: datetime | None = None
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    last_error: str | None = None


class CaseWork(SQLModel, table=True):
    """The case run's ledger: what it did for each event, and how many times it ran that work.

    `attempts` stays 1 when the run's crash-safety holds (a repeat of a task after a crash is
    served from Prefect's result cache); the crash tests assert exactly that.
    """

    __tablename__ = "case_work"
    __table_args__ = (UniqueConstraint("case_id", "seq", name="uq_case_work_seq"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    case_id: uuid.UUID = Field(foreign_key="case.id")
    seq: int
    work: str | None = Field(default=None, max_length=120)
    attempts: int = 1
    done_at: datetime = Field(default_factory=utcnow)
