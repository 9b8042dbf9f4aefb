"""Drift a deadline cannot show, read from the case state (pure: no clock, no database).

Most drift is a deadline gone past due, and the monitor finds it in the deadline rows: a review
overdue, a visit overdue against the plan's frequency, a case left waiting on the step-down panel
(`step_down_panel`). What is left:

- a plan that keeps being reviewed and never changes: Redbridge's reviews must say whether the
  plan is working and what will change (003 s5), and Stockton's inspection found child in need
  plans "not sufficiently explicit about what needed to change" (001 L269-271). N reviews in
  a row deciding "continue" is that finding (N = 3, an engine default: `engine-defaults.yaml`,
  drift);
- a plan that sets no visiting frequency where the council's document says it should (Redbridge
  003 L202, policy `rules: plan_should_set_visits`): a finding for the team manager only
  (`VISITS_UNSET_KIND`), gone once a review sets one (issue 19 point 6);
- the first review after a plan's 12 months chaired by someone other than a team manager or
  senior practitioner (Redbridge 003 L131): a finding for the team manager only
  (`REVIEW_CHAIR_KIND`), never an escalation, and nothing at all before that review is held.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from models.lifecycle.state import PLAN_STAGES, CaseState, Stage

CONTINUE_STREAK = 3  # engine default (engine-defaults.yaml drift.continues_in_a_row)
CONTINUE_STREAK_KIND = "plan_unchanged"
REVIEW_CHAIR_KIND = "review_chair"
VISITS_UNSET_KIND = "visits_unset"
TEAM_MANAGER_ONLY: frozenset[str] = frozenset({REVIEW_CHAIR_KIND, VISITS_UNSET_KIND})


@dataclass(frozen=True, slots=True)
class DriftFinding:
    key: str  # stable for the life of the finding: "continues#5" = the 5th review made it 3
    kind: str
    since: date  # the date the drift began (the review that completed the streak)
    explanation: str


def drift_findings(state: CaseState, streak_at: int = CONTINUE_STREAK) -> tuple[DriftFinding, ...]:
    """The drift the case shows now; `since` is right when a finding first appears."""
    findings: list[DriftFinding] = []
    # kept while the plan is in force, s47 enquiries included (a finding that left and came
    # back would reuse its key: one row a key per case)
    in_force = state.stage in PLAN_STAGES or (
        state.stage is Stage.CHILD_PROTECTION and state.after_icpc is Stage.CIN_PLAN
    )
    if state.visits_unset_since is not None and in_force:
        findings.append(
            DriftFinding(
                key=f"visits#{state.visits_unset_since.isoformat()}",
                kind=VISITS_UNSET_KIND,
                since=state.visits_unset_since,
                explanation=(
                    "the plan sets no visiting frequency; the council's document says it should "
                    "(Redbridge 003 L202: set out in any planning or review meeting)"
                ),
            )
        )
    if state.stage not in PLAN_STAGES or state.last_review is None:
        return tuple(findings)
    if state.chair_finding is not None:
        findings.append(
            DriftFinding(
                key=f"chair#{state.reviews_held}",
                kind=REVIEW_CHAIR_KIND,
                since=state.chair_finding,
                explanation=(
                    f"the review on {state.chair_finding.isoformat()} was the first after the "
                    "plan's 12 months and was not chaired by a team manager or senior "
                    "practitioner (003 L131)"
                ),
            )
        )
    streak = state.consecutive_continues
    if streak < streak_at:
        return tuple(findings)
    completed_by = state.reviews_held - streak + streak_at
    return (
        *findings,
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
