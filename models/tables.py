"""What the case database stores. Alembic owns the schema (models/migrations); these are its shape.

The event log is the truth: `case_event` rows are appended, never changed. `case.state` and the
`deadline` rows are derived from it in the same transaction that appends an event, so they are
right the moment an event is accepted; `cin case rebuild` re-derives them and must agree.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
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
    # the allocated worker (`staff.staff_id` in this authority); None = unallocated
    worker_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class CaseEvent(SQLModel, table=True):
    __tablename__ = "case_event"
    __table_args__ = (
        UniqueConstraint("case_id", "seq", name="uq_case_event_seq"),
        UniqueConstraint("case_id", "idempotency_key", name="uq_case_event_key"),
        # the report's "on a date" measures: events dated after a day (migration 0008)
        Index("ix_case_event_occurred_on", "occurred_on", "case_id"),
        # the report's events: all but visits (0008)
        Index(
            "ix_case_event_not_visit",
            "case_id",
            postgresql_where=text("event_type <> 'visit_recorded'"),
            sqlite_where=text("event_type <> 'visit_recorded'"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    case_id: uuid.UUID = Field(foreign_key="case.id")
    seq: int
    idempotency_key: str = Field(max_length=128)
    event_type: str = Field(max_length=32)
    occurred_on: date
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    recorded_at: datetime = Field(default_factory=utcnow)
    # who recorded it (models/actors.py): api / cli / python, the client or OS user, and the
    # staff id the record names; "unknown (before recording of actors)" for older events (0009)
    actor_kind: str = Field(default="unknown", max_length=16)
    actor: str = Field(default="unknown", max_length=200)
    recorded_by: str | None = Field(default=None, max_length=64)


class Deadline(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("case_id", "key", name="uq_deadline_key"),
        # the monitor's query (unclosed = open or missed), the report's overdue on a date, and
        # assessments within the local target (0008); `status` is in no index, so the monitor's
        # missed mark is a heap-only update like its other marks (0014)
        Index(
            "ix_deadline_unclosed_due",
            "due",
            postgresql_where=text("closed_seq IS NULL"),
            sqlite_where=text("closed_seq IS NULL"),
            postgresql_include=["case_id", "kind", "opened_seq"],
        ),
        # the met ones only (0012): the report reads it with a range of met_on, and an open
        # deadline's marks then write no entry in it
        Index(
            "ix_deadline_kind_met_on",
            "kind",
            "met_on",
            postgresql_include=["case_id"],
            postgresql_where=text("met_on IS NOT NULL"),
            sqlite_where=text("met_on IS NOT NULL"),
        ),
        # room on each page for a changed row: the monitor's marks (missed, reminder, escalation)
        # touch no indexed column and are heap-only updates, no index entry written (0012, 0014)
        {"postgresql_with": {"fillfactor": 90}},
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    # read by case through uq_deadline_key (case_id, key): no index of its own (0012)
    case_id: uuid.UUID = Field(foreign_key="case.id")
    key: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    due: date
    status: str = Field(default="open", max_length=16)
    policy_ref: str = Field(max_length=80)
    explanation: str
    met_on: date | None = None
    opened_seq: int
    closed_seq: int | None = None
    # the monitor's marks, never derived from the log: how far up the ladder it has told (0 =
    # nobody), and whether the worker was reminded (1 = due soon, 2 = due today)
    escalation_level: int = 0
    reminder_level: int = 0


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


class Drift(SQLModel, table=True):
    """Drift the deadlines cannot show (three "continue" reviews in a row), kept like a deadline.

    The store opens and resolves these rows from the case state in the transaction that accepts an
    event; the monitor reads the open ones by `since` and escalates them up the same ladder.
    """

    __table_args__ = (
        UniqueConstraint("case_id", "key", name="uq_drift_key"),
        Index("ix_drift_status_since", "status", "since"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    # read by case through uq_drift_key (case_id, key): no index of its own (0012)
    case_id: uuid.UUID = Field(foreign_key="case.id")
    key: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    since: date
    status: str = Field(default="open", max_length=16)  # open / resolved
    explanation: str
    opened_seq: int
    closed_seq: int | None = None
    escalation_level: int = 0


class Staff(SQLModel, table=True):
    """One council's staff: who is allocated cases, who manages whom (`cin staff import`).

    Names and addresses are staff data: they go to the mail server and nowhere else (no log
    line, artifact or alert text carries them).
    """

    authority: str = Field(foreign_key="authority.slug", primary_key=True, max_length=64)
    staff_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    email: str = Field(max_length=254)
    role: str = Field(max_length=32)
    team: str | None = Field(default=None, max_length=64)
    manager_id: str | None = Field(default=None, max_length=64)
    active: bool = True
    updated_at: datetime = Field(default_factory=utcnow)


class Alert(SQLModel, table=True):
    """One thing one recipient must be told, recorded before anything is sent.

    `key` is (finding, level, recipient) and `id` is derived from it: the primary key is what
    makes "each level once" hold across crashes and concurrent passes. The text carries no
    personal data.
    """

    __table_args__ = (
        # the digest's query: alerts no digest has carried yet (a partial index, so claiming an
        # alert takes it out instead of rewriting an entry)
        Index(
            "ix_alert_undigested",
            "raised_on",
            postgresql_where=text("mode = 'digest' AND dispatch_id IS NULL"),
            sqlite_where=text("mode = 'digest' AND dispatch_id IS NULL"),
        ),
    )

    # uuid5 of `key`: the primary key is what makes an alert exist once (one index, 16 bytes)
    id: uuid.UUID = Field(primary_key=True)
    key: str = Field(max_length=240)  # (finding, rung, notice, channel:recipient), readable
    authority: str = Field(max_length=64)
    team: str | None = Field(default=None, max_length=64)
    case_ref: str = Field(max_length=32)
    finding: str = Field(max_length=120)  # "RED-000123/review#2" or "RED-000123/drift/..."
    kind: str = Field(max_length=32)  # the deadline kind or drift kind
    notice: str = Field(max_length=16)  # due_soon / due_today / overdue / drift
    level: int  # 0 = the worker's reminder; 1.. = the rung of the ladder
    role: str = Field(max_length=32)
    channel: str = Field(max_length=16)  # email / teams
    recipient: str = Field(max_length=140)  # "staff:<id>" or "team:<team>"
    mode: str = Field(max_length=16)  # immediate / digest / held (nobody to tell)
    due: date
    since: date | None = None  # overdue since (the first day after `due`) or drifting since
    headline: str  # one line: the case, what, since when (a digest's line)
    rule: str  # the policy version and the rule's citation
    link: str = Field(max_length=300)  # the case's flow run in the Prefect UI
    body: str  # the whole alert, for an immediate message ("" for digest lines)
    raised_on: date
    created_at: datetime = Field(default_factory=utcnow)
    # the dispatch that carries it: no foreign key (migration 0013). Claiming a day's 79,000
    # digest alerts checked each against `dispatch` one by one, a third of the claim's time; the
    # dispatch is always written first in the same transaction (create_digests, record_findings)
    # and a record's destruction deletes only dispatches no alert names (models/retention).
    dispatch_id: uuid.UUID | None = None


class Dispatch(SQLModel, table=True):
    """A message to send: one immediate alert or one day's digest for one recipient.

    Created in the same transaction as the alerts it carries; sent after; marked sent after the
    transport accepted it. Failures stay here, visible, with the next attempt backed off.
    """

    __table_args__ = (Index("ix_dispatch_pending", "sent_at", "next_attempt_at"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    key: str = Field(unique=True, max_length=240)  # "alert:<alert key>" / "digest:<rcpt>:<day>"
    authority: str = Field(max_length=64)
    channel: str = Field(max_length=16)
    recipient: str = Field(max_length=140)
    subject: str = Field(max_length=240)
    body: str
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: datetime | None = None
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow)
    last_error: str | None = None


class Child(SQLModel, table=True):
    """A child's personal data for the census return (`cin child set`, an import's `child`).

    Personal data: read only by the census export; never in a log line, alert, artifact, tag or
    run name. Keyed like cases, by authority and the recording system's child reference.
    """

    authority: str = Field(foreign_key="authority.slug", primary_key=True, max_length=64)
    child_ref: str = Field(primary_key=True, max_length=64)
    upn: str | None = Field(default=None, max_length=13)
    former_upn: str | None = Field(default=None, max_length=13)
    upn_unknown: str | None = Field(default=None, max_length=3)
    birth_date: date | None = None
    expected_birth_date: date | None = None
    death_date: date | None = None
    sex: str = Field(max_length=1)
    ethnicity: str = Field(max_length=4)
    disabilities: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow)


class EngineInstance(SQLModel, table=True):
    """One row: this case database's id on Prefect servers (models/instance.py)."""

    __tablename__ = "engine_instance"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)


# The HTTP API's tables (migration 0009): its clients' keys, the access log, write keys.


class ApiClient(SQLModel, table=True):
    """One key of one recording system at one council. Only a salted hash of its secret is kept
    (models/api_keys.py says why a SHA-256 suffices for a 256-bit random secret)."""

    __tablename__ = "api_client"
    __table_args__ = (UniqueConstraint("key_id", name="uq_api_client_key_id"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    key_id: str = Field(max_length=16)  # the public part of the key, to find its row
    authority: str = Field(foreign_key="authority.slug", max_length=64)
    name: str = Field(max_length=64)
    scope: str = Field(max_length=8)  # record / read
    salt: str = Field(max_length=32)
    secret_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None


class AuditEntry(SQLModel, table=True):
    """Who read or wrote what, and how it went: one row per API request (and, from issue 24, per
    CLI read). Never a request body; `child_ref` only for the routes about a child."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_case_at", "case_ref", "at"),
        Index("ix_audit_log_child_at", "authority", "child_ref", "at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    at: datetime = Field(default_factory=utcnow)
    actor_kind: str = Field(max_length=8)  # api / cli
    actor: str = Field(max_length=200)  # "client-name (key id)" or the OS user
    action: str = Field(max_length=80)  # "POST /v1/cases/{case_ref}/events", "case show"
    authority: str | None = Field(default=None, max_length=64)
    case_ref: str | None = Field(default=None, max_length=32)
    child_ref: str | None = Field(default=None, max_length=64)
    outcome: str = Field(max_length=80)  # "201", "404 no such case", "401 no key"


class ApiIdempotency(SQLModel, table=True):
    """The digest of the body first sent with each Idempotency-Key, per authority."""

    __tablename__ = "api_idempotency"

    authority: str = Field(primary_key=True, max_length=64)
    key: str = Field(primary_key=True, max_length=128)
    route: str = Field(max_length=80)
    body_sha256: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


# Ofsted's Annex A (issue 22, migration 0010_annex_a): contacts, and allocations with a date.
class Contact(SQLModel, table=True):
    """A contact at the front door (`cin contact record`): before any referral, never a case.
    Recorded once: the same child, day and source again is the same contact. Personal data
    (the child's reference): read by the Annex A export only."""

    __table_args__ = (
        UniqueConstraint("authority", "child_ref", "contact_on", "source", name="uq_contact"),
        Index("ix_contact_authority_on", "authority", "contact_on"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    authority: str = Field(foreign_key="authority.slug", max_length=64)
    child_ref: str = Field(max_length=64)
    contact_on: date
    source: str = Field(max_length=4)  # the DfE referral source codes (models/lifecycle/codes.py)
    recorded_at: datetime = Field(default_factory=utcnow)


class CaseAllocation(SQLModel, table=True):
    """One allocation of a case to a worker and team (`cin case allocate`), dated: the history
    behind "allocated at the time" in Annex A. The case row keeps the current one."""

    __tablename__ = "case_allocation"
    __table_args__ = (Index("ix_case_allocation_case_on", "case_id", "allocated_on"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: uuid.UUID = Field(foreign_key="case.id")
    allocated_on: date
    team: str | None = Field(default=None, max_length=64)
    worker_id: str = Field(max_length=64)
    previous_team: str | None = Field(default=None, max_length=64)
    # True for the allocations migration 0010 carried over from the case rows (no date was kept:
    # dated at the case's referral)
    migrated: bool = False
    recorded_at: datetime = Field(default_factory=utcnow)


# A child's record (issue 24, migration 0011): legal holds and the destruction log.


class LegalHold(SQLModel, table=True):
    """A legal hold on one child's record: while one is in force (`released_at` None), retention
    never destroys the record (`cin hold add|list|release`)."""

    __tablename__ = "legal_hold"
    __table_args__ = (Index("ix_legal_hold_child", "authority", "child_ref"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    authority: str = Field(foreign_key="authority.slug", max_length=64)
    child_ref: str = Field(max_length=64)
    reason: str = Field(max_length=500)
    placed_at: datetime = Field(default_factory=utcnow)
    placed_by: str = Field(max_length=200)
    released_at: datetime | None = None
    released_by: str | None = Field(default=None, max_length=200)


class DestructionLog(SQLModel, table=True):
    """What `cin retention apply` destroyed: a one-way hash of the child's reference, the rule,
    the dates, counts. Written in the transaction that deletes the child's rows; `prefect_pending`
    lists the Prefect runs (and artifact keys) still to delete, emptied once they are gone."""

    __tablename__ = "destruction_log"
    __table_args__ = (Index("ix_destruction_log_child", "child_hash"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    authority: str = Field(max_length=64)
    child_hash: str = Field(max_length=64)
    rule: str = Field(max_length=300)
    due_on: date
    as_of: date
    destroyed_at: datetime = Field(default_factory=utcnow)
    destroyed_by: str = Field(max_length=200)
    cases: int
    events: int
    prefect_pending: list[dict[str, str]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    prefect_done_at: datetime | None = None
