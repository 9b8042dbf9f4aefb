"""report indexes: events by date and all but visits, open deadlines by due, met ones by kind

`cin report`'s "overdue on a date" and "assessments within the local target" (issue 11).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the events dated after a day (the report's "on a date" measures), and their cases, read
    # from the index alone; without it the measure hashed the whole log (issue 11 benchmark)
    op.create_index("ix_case_event_occurred_on", "case_event", ["occurred_on", "case_id"])
    # every event but visits (most of the log, and no measure reads them): the report reads
    # these without filtering 8 M rows
    op.create_index(
        "ix_case_event_not_visit",
        "case_event",
        ["case_id"],
        postgresql_where=sa.text("event_type <> 'visit_recorded'"),
        sqlite_where=sa.text("event_type <> 'visit_recorded'"),
    )
    # deadlines no event has closed, by due date: those overdue on a day, without reading the
    # closed ones (most of the table)
    op.create_index(
        "ix_deadline_unclosed_due",
        "deadline",
        ["due"],
        postgresql_where=sa.text("closed_seq IS NULL"),
        sqlite_where=sa.text("closed_seq IS NULL"),
        postgresql_include=["case_id", "kind", "opened_seq"],
    )
    # answered deadlines of a kind by the day they were met: assessments against local targets
    op.create_index(
        "ix_deadline_kind_met_on",
        "deadline",
        ["kind", "met_on"],
        postgresql_include=["status", "case_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_deadline_kind_met_on", "deadline")
    op.drop_index("ix_deadline_unclosed_due", "deadline")
    op.drop_index("ix_case_event_not_visit", "case_event")
    op.drop_index("ix_case_event_occurred_on", "case_event")
