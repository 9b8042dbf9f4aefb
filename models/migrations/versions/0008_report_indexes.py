"""report indexes: case events by date, for `cin report`'s "overdue on a date"

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the events dated after a day (the report's "on a date" measures), and their cases, read
    # from the index alone; without it the measure hashed the whole log (issue 11 benchmark)
    op.create_index("ix_case_event_occurred_on", "case_event", ["occurred_on", "case_id"])


def downgrade() -> None:
    op.drop_index("ix_case_event_occurred_on", "case_event")
