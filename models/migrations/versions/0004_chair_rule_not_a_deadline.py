"""the 12-month chair rule is not a deadline: stop the team-manager review clocks still running

Issue 8: "If a Plan has been in place for 12 months the next review must be chaired by a Team
Manager or Senior Practitioner" (Redbridge 003 L131) is a rule about who chairs, checked when the
review is held. Clocks of kind team_manager_review written before it are cancelled so the monitor
stops escalating them. Case states written before it (schema 1) are refused on read: rebuild each
case from its log (`cin case rebuild CASE`).

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE deadline SET status = 'cancelled' "
        "WHERE kind = 'team_manager_review' AND status IN ('open', 'missed')"
    )


def downgrade() -> None:
    # which rows were open before cannot be told apart from those cancelled by a closure; the
    # clocks are not reopened
    pass
