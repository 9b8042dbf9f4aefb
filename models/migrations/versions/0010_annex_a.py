"""Ofsted's Annex A: contacts, and case allocations with a date (issue 22)

- `contact`: a contact at the front door (`cin contact record`), never a case.
- `case_allocation`: each allocation of a case to a worker, dated (`cin case allocate`). The
  allocation each case row holds today is carried over; no date was kept for it, so it is dated
  at the case's referral and marked `migrated` (docs/census-and-annex-a.md).

Revision ID: 0010_annex_a
Revises: 0009
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0010_annex_a"
down_revision = "0009"
branch_labels = None
depends_on = None

S = sqlmodel.sql.sqltypes.AutoString
T = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "contact",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("authority", S(length=64), nullable=False),
        sa.Column("child_ref", S(length=64), nullable=False),
        sa.Column("contact_on", sa.Date(), nullable=False),
        sa.Column("source", S(length=4), nullable=False),
        sa.Column("recorded_at", T(), nullable=False),
        sa.ForeignKeyConstraint(["authority"], ["authority.slug"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("authority", "child_ref", "contact_on", "source", name="uq_contact"),
    )
    op.create_index("ix_contact_authority_on", "contact", ["authority", "contact_on"])
    op.create_table(
        "case_allocation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("allocated_on", sa.Date(), nullable=False),
        sa.Column("team", S(length=64), nullable=True),
        sa.Column("worker_id", S(length=64), nullable=False),
        sa.Column("previous_team", S(length=64), nullable=True),
        sa.Column("migrated", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", T(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_case_allocation_case_on", "case_allocation", ["case_id", "allocated_on"])
    # today's allocations, carried over as dated ones (dated at the referral: no date was kept)
    op.execute(
        sa.text(
            "INSERT INTO case_allocation (case_id, allocated_on, team, worker_id, previous_team, "
            "migrated, recorded_at) SELECT id, referral_date, team, worker_id, team, :yes, "
            'updated_at FROM "case" WHERE worker_id IS NOT NULL'
        ).bindparams(yes=True)
    )


def downgrade() -> None:
    op.drop_index("ix_case_allocation_case_on", table_name="case_allocation")
    op.drop_table("case_allocation")
    op.drop_index("ix_contact_authority_on", table_name="contact")
    op.drop_table("contact")
