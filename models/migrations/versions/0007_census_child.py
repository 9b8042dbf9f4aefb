"""census return: the child's personal data (DOB, UPN, sex, ethnicity, disabilities)

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "child",
        sa.Column("authority", S(length=64), nullable=False),
        sa.Column("child_ref", S(length=64), nullable=False),
        sa.Column("upn", S(length=13), nullable=True),
        sa.Column("former_upn", S(length=13), nullable=True),
        sa.Column("upn_unknown", S(length=3), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("expected_birth_date", sa.Date(), nullable=True),
        sa.Column("death_date", sa.Date(), nullable=True),
        sa.Column("sex", S(length=1), nullable=False),
        sa.Column("ethnicity", S(length=4), nullable=False),
        sa.Column("disabilities", sa.JSON(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["authority"], ["authority.slug"]),
        sa.PrimaryKeyConstraint("authority", "child_ref"),
    )


def downgrade() -> None:
    op.drop_table("child")
