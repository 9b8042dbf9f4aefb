"""A child's record (issue 24): legal holds and the destruction log

- `legal_hold`: one row per hold on a child's record; a hold in force (`released_at` null) stops
  retention from destroying the record.
- `destruction_log`: one row per destroyed record: a one-way hash of the child's reference, the
  retention rule, the dates and counts; the Prefect runs still to delete (`prefect_pending`).

Revision ID: 0011_child_record
Revises: 0009
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0011_child_record"
down_revision = "0010_annex_a"
branch_labels = None
depends_on = None

S = sqlmodel.sql.sqltypes.AutoString
T = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "legal_hold",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("authority", S(length=64), nullable=False),
        sa.Column("child_ref", S(length=64), nullable=False),
        sa.Column("reason", S(length=500), nullable=False),
        sa.Column("placed_at", T(), nullable=False),
        sa.Column("placed_by", S(length=200), nullable=False),
        sa.Column("released_at", T(), nullable=True),
        sa.Column("released_by", S(length=200), nullable=True),
        sa.ForeignKeyConstraint(["authority"], ["authority.slug"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_legal_hold_child", "legal_hold", ["authority", "child_ref"])
    op.create_table(
        "destruction_log",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("authority", S(length=64), nullable=False),
        sa.Column("child_hash", S(length=64), nullable=False),
        sa.Column("rule", S(length=300), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("destroyed_at", T(), nullable=False),
        sa.Column("destroyed_by", S(length=200), nullable=False),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("prefect_pending", sa.JSON(), nullable=False),
        sa.Column("prefect_done_at", T(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_destruction_log_child", "destruction_log", ["child_hash"])


def downgrade() -> None:
    op.drop_table("destruction_log")
    op.drop_index("ix_legal_hold_child", "legal_hold")
    op.drop_table("legal_hold")
