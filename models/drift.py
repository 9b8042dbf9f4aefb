"""Drift a deadline cannot show, read from the case state (pure: no clock, no database).

Most drift is a deadline gone past due, and the monitor finds it in the deadline rows: a review
overdue, a visit overdue against the plan's frequency (or the policy default), a plan open 12
months without a team-manager-chaired review (`team_manager_review`), a case left waiting on the
step-down panel (`step_down_panel`). What is left is a plan that keeps being reviewed and never
changes: Redbridge's reviews must say whether the plan is working and what will change (003 s5),
and the seeds' audits found plans "not sufficiently explicit about what needed to change". Three
reviews in a row deciding "continue" is that finding.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from models.lifecycle.state import PLAN_STAGES, CaseState

CONTINUE_STREAK = 3
CONTINUE_STREAK_KIND = "plan_unchanged"


@dataclass(frozen=True, slots=True)
class DriftFinding:
    key: str  # stable for the life of the finding: "continues#5" = the 5th review made it 3
    kind: str
    since: date  # the date the drift began (the review that completed the streak)
    explanation: str


def drift_findings(state: CaseState) -> tuple[DriftFinding, ...]:
    """The drift the case shows now; `since` is right when a finding first appears."""
    streak = state.consecutive_continues
    if streak < CONTINUE_STREAK or state.stage not in PLAN_STAGES or state.last_review is None:
        return ()
    completed_by = state.reviews_held - streak + CONTINUE_STREAK
    return (
        DriftFinding(
            key=f"continues#{completed_by}",
            kind=CONTINUE_STREAK_KIND,
            since=state.last_review,
            explanation=(
                f"{streak} reviews in a row decided 'continue' with no change to the plan "
                f"(the latest on {state.last_review.isoformat()})"
            ),
        ),
    )
