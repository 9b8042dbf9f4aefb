"""The HTTP API's tables (migration 0009): its clients' keys, the access log, write keys.

Kept beside `models/tables.py` rather than in it: they belong to the API and the audit, not to
the case log.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.tables import utcnow


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
