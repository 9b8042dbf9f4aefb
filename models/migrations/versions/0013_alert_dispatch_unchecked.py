"""An alert's dispatch is no longer a foreign key (issue 23 point 4)

A digest claims its alerts by setting their `dispatch_id`: on the first monitor pass over
England's caseload 79,000 rows in one UPDATE. With `alert.dispatch_id` a foreign key, PostgreSQL
checked each changed row against `dispatch` one at a time (a key-share lock on the dispatch row
each time): 345 ms of the UPDATE's 972 ms on a quarter caseload with the full due items. The rule
the key enforced is kept by the only writers: `create_digests` and `record_findings` write the
dispatch before the alerts that name it, in the same transaction, and a record's destruction
(`models/retention/destroy.py`) deletes a dispatch only when no alert names it any more.

Revision ID: 0013_alert_dispatch_unchecked
Revises: 0012_monitor_marks
"""

from alembic import op

revision = "0013_alert_dispatch_unchecked"
down_revision = "0012_monitor_marks"
branch_labels = None
depends_on = None

# 0003 left the key unnamed: PostgreSQL named it so; SQLite's copy is found by this convention
FK = "alert_dispatch_id_fkey"
CONVENTION = {"fk": "%(table_name)s_%(column_0_name)s_fkey"}


def upgrade() -> None:
    with op.batch_alter_table("alert", naming_convention=CONVENTION) as batch_op:
        batch_op.drop_constraint(FK, type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("alert", naming_convention=CONVENTION) as batch_op:
        batch_op.create_foreign_key(FK, "dispatch", ["dispatch_id"], ["id"])
