"""The monitor's marks write fewer index entries (issue 23 point 4)

- `ix_deadline_case_id` and `ix_drift_case_id` are dropped: the unique constraints
  `uq_deadline_key` and `uq_drift_key` are on (case_id, key), so their indexes already serve every
  read by case (and the foreign keys' checks from `case`); each mark the monitor wrote that
  changed a deadline's status updated this index as well, for no reader.
- `ix_deadline_kind_met_on` holds the met deadlines only (`met_on IS NOT NULL`): its one reader,
  the report's assessments within the local target, asks for a range of `met_on`; a mark that
  changed an open deadline's status wrote an entry in it too (it includes `status`).
- `deadline` gets a fill factor of 90 on PostgreSQL: a page keeps room for a changed row, so a mark
  that changes no indexed column (a reminder, an escalation rung: `reminder_level` and
  `escalation_level` are in no index) is a heap-only update that writes no index entry at all.
  It applies to pages written from now on; `VACUUM FULL deadline` applies it to the existing ones.

Revision ID: 0012_monitor_marks
Revises: 0011_child_record
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_monitor_marks"
down_revision = "0011_child_record"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deadline") as batch_op:
        batch_op.drop_index("ix_deadline_case_id")
    op.drop_index("ix_drift_case_id", table_name="drift")
    op.drop_index("ix_deadline_kind_met_on", table_name="deadline")
    op.create_index(
        "ix_deadline_kind_met_on",
        "deadline",
        ["kind", "met_on"],
        postgresql_include=["status", "case_id"],
        postgresql_where=sa.text("met_on IS NOT NULL"),
        sqlite_where=sa.text("met_on IS NOT NULL"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE deadline SET (fillfactor = 90)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE deadline RESET (fillfactor)")
    op.drop_index("ix_deadline_kind_met_on", table_name="deadline")
    op.create_index(
        "ix_deadline_kind_met_on",
        "deadline",
        ["kind", "met_on"],
        postgresql_include=["status", "case_id"],
    )
    op.create_index("ix_drift_case_id", "drift", ["case_id"])
    with op.batch_alter_table("deadline") as batch_op:
        batch_op.create_index("ix_deadline_case_id", ["case_id"], unique=False)
