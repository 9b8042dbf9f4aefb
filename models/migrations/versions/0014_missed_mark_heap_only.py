"""A deadline's missed mark is a heap-only update (issue 23 point 4)

The monitor's first pass over England's caseload marks 18,542 deadlines `missed`. `status` was in
two indexes: `ix_deadline_status_due` (the monitor's query) and `ix_deadline_kind_met_on`'s
INCLUDE (the report's assessments within the local target). PostgreSQL makes an update heap-only
only when no indexed column changes (key, INCLUDE or predicate), so each missed mark wrote a new
entry in every index of the table.

- `ix_deadline_status_due` is dropped: the monitor asks for the unclosed deadlines instead
  (`closed_seq IS NULL`, which holds exactly while the status is `open` or `missed`: the event that
  closes a deadline sets both), through `ix_deadline_unclosed_due` (0008), which it already had.
- `ix_deadline_kind_met_on` no longer includes `status`: the report reads the met deadlines'
  status from the table (met deadlines are never marked again).

Revision ID: 0014_missed_mark_heap_only
Revises: 0013_alert_dispatch_unchecked
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_missed_mark_heap_only"
down_revision = "0013_alert_dispatch_unchecked"
branch_labels = None
depends_on = None


def _met_on_index(include: list[str]) -> None:
    op.drop_index("ix_deadline_kind_met_on", table_name="deadline")
    op.create_index(
        "ix_deadline_kind_met_on",
        "deadline",
        ["kind", "met_on"],
        postgresql_include=include,
        postgresql_where=sa.text("met_on IS NOT NULL"),
        sqlite_where=sa.text("met_on IS NOT NULL"),
    )


def upgrade() -> None:
    with op.batch_alter_table("deadline") as batch_op:
        batch_op.drop_index("ix_deadline_status_due")
    _met_on_index(["case_id"])


def downgrade() -> None:
    _met_on_index(["status", "case_id"])
    with op.batch_alter_table("deadline") as batch_op:
        batch_op.create_index("ix_deadline_status_due", ["status", "due"], unique=False)
