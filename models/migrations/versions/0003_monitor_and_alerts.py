"""deadline monitor: staff, allocation, drift findings, the alert outbox and its dispatches

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.add_column("case", sa.Column("worker_id", S(length=64), nullable=True))
    op.add_column(
        "deadline",
        sa.Column("reminder_level", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "drift",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("key", S(length=64), nullable=False),
        sa.Column("kind", S(length=32), nullable=False),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("status", S(length=16), nullable=False),
        sa.Column("explanation", S(), nullable=False),
        sa.Column("opened_seq", sa.Integer(), nullable=False),
        sa.Column("closed_seq", sa.Integer(), nullable=True),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "key", name="uq_drift_key"),
    )
    op.create_index("ix_drift_case_id", "drift", ["case_id"])
    op.create_index("ix_drift_status_since", "drift", ["status", "since"])
    op.create_table(
        "staff",
        sa.Column("authority", S(length=64), nullable=False),
        sa.Column("staff_id", S(length=64), nullable=False),
        sa.Column("name", S(length=200), nullable=False),
        sa.Column("email", S(length=254), nullable=False),
        sa.Column("role", S(length=32), nullable=False),
        sa.Column("team", S(length=64), nullable=True),
        sa.Column("manager_id", S(length=64), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["authority"], ["authority.slug"]),
        sa.PrimaryKeyConstraint("authority", "staff_id"),
    )
    op.create_table(
        "dispatch",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", S(length=240), nullable=False),
        sa.Column("authority", S(length=64), nullable=False),
        sa.Column("channel", S(length=16), nullable=False),
        sa.Column("recipient", S(length=140), nullable=False),
        sa.Column("subject", S(length=240), nullable=False),
        sa.Column("body", S(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("sent_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("last_error", S(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_dispatch_pending", "dispatch", ["sent_at", "next_attempt_at"])
    op.create_table(
        "alert",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("key", S(length=240), nullable=False),
        sa.Column("authority", S(length=64), nullable=False),
        sa.Column("team", S(length=64), nullable=True),
        sa.Column("case_ref", S(length=32), nullable=False),
        sa.Column("finding", S(length=120), nullable=False),
        sa.Column("kind", S(length=32), nullable=False),
        sa.Column("notice", S(length=16), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("role", S(length=32), nullable=False),
        sa.Column("channel", S(length=16), nullable=False),
        sa.Column("recipient", S(length=140), nullable=False),
        sa.Column("mode", S(length=16), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("since", sa.Date(), nullable=True),
        sa.Column("headline", S(), nullable=False),
        sa.Column("rule", S(), nullable=False),
        sa.Column("link", S(length=300), nullable=False),
        sa.Column("body", S(), nullable=False),
        sa.Column("raised_on", sa.Date(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("dispatch_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["dispatch_id"], ["dispatch.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    undigested = sa.text("mode = 'digest' AND dispatch_id IS NULL")
    op.create_index(
        "ix_alert_undigested",
        "alert",
        ["raised_on"],
        postgresql_where=undigested,
        sqlite_where=undigested,
    )


def downgrade() -> None:
    op.drop_index("ix_alert_undigested", "alert")
    op.drop_table("alert")
    op.drop_index("ix_dispatch_pending", "dispatch")
    op.drop_table("dispatch")
    op.drop_table("staff")
    op.drop_index("ix_drift_status_since", "drift")
    op.drop_index("ix_drift_case_id", "drift")
    op.drop_table("drift")
    op.drop_column("deadline", "reminder_level")
    op.drop_column("case", "worker_id")
