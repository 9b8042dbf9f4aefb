"""HTTP API: clients and their keys, who recorded each event, the access log (issue 21)

- `api_client`: one row per key (`cin api key create`): only a salted SHA-256 of the secret.
- `case_event.actor_kind` / `actor` / `recorded_by`: who recorded each event. Events logged before
  this migration get "unknown (before recording of actors)": nobody recorded who made them.
- `audit_log`: every API request (and, from issue 24, every CLI read): who, what, which case,
  the outcome; never a request body.
- `api_idempotency`: the body digest of each write's Idempotency-Key, so that the same key with
  another body is refused on every route (the event log already refuses it for events).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

S = sqlmodel.sql.sqltypes.AutoString
T = sqlmodel.sql.sqltypes.UTCDateTime
UNKNOWN_ACTOR = "unknown (before recording of actors)"


def upgrade() -> None:
    op.create_table(
        "api_client",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key_id", S(length=16), nullable=False),
        sa.Column("authority", S(length=64), nullable=False),
        sa.Column("name", S(length=64), nullable=False),
        sa.Column("scope", S(length=8), nullable=False),
        sa.Column("salt", S(length=32), nullable=False),
        sa.Column("secret_hash", S(length=64), nullable=False),
        sa.Column("created_at", T(), nullable=False),
        sa.Column("revoked_at", T(), nullable=True),
        sa.ForeignKeyConstraint(["authority"], ["authority.slug"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_id", name="uq_api_client_key_id"),
    )
    # existing events: nobody recorded who made them (server default, so the backfill is the
    # ALTER itself: no rewrite of the log by hand); the engine names the actor of every new one
    op.add_column(
        "case_event",
        sa.Column("actor_kind", S(length=16), nullable=False, server_default="unknown"),
    )
    op.add_column(
        "case_event",
        sa.Column("actor", S(length=200), nullable=False, server_default=UNKNOWN_ACTOR),
    )
    op.add_column("case_event", sa.Column("recorded_by", S(length=64), nullable=True))
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("at", T(), nullable=False),
        sa.Column("actor_kind", S(length=8), nullable=False),
        sa.Column("actor", S(length=200), nullable=False),
        sa.Column("action", S(length=80), nullable=False),
        sa.Column("authority", S(length=64), nullable=True),
        sa.Column("case_ref", S(length=32), nullable=True),
        sa.Column("child_ref", S(length=64), nullable=True),
        sa.Column("outcome", S(length=80), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_log_case_at", "audit_log", ["case_ref", "at"])
    op.create_index("ix_audit_log_child_at", "audit_log", ["authority", "child_ref", "at"])
    op.create_table(
        "api_idempotency",
        sa.Column("authority", S(length=64), nullable=False),
        sa.Column("key", S(length=128), nullable=False),
        sa.Column("route", S(length=80), nullable=False),
        sa.Column("body_sha256", S(length=64), nullable=False),
        sa.Column("created_at", T(), nullable=False),
        sa.PrimaryKeyConstraint("authority", "key"),
    )


def downgrade() -> None:
    op.drop_table("api_idempotency")
    op.drop_index("ix_audit_log_child_at", "audit_log")
    op.drop_index("ix_audit_log_case_at", "audit_log")
    op.drop_table("audit_log")
    with op.batch_alter_table("case_event") as batch:
        batch.drop_column("recorded_by")
        batch.drop_column("actor")
        batch.drop_column("actor_kind")
    op.drop_table("api_client")
