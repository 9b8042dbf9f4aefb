"""engine instance: the id that namespaces what this case database puts on a Prefect server

Revision ID: 0006
Revises: 0004
"""

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "engine_instance",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    # one row, made when the database is: a database recreated in the same folder is new
    op.bulk_insert(table, [{"id": uuid.uuid4(), "created_at": datetime.now(UTC)}])


def downgrade() -> None:
    op.drop_table("engine_instance")
