"""An independent, deliberately naive model of the lifecycle for the stateful test.

It knows only the stage graph and which kinds of deadline are open (as plain strings), written
from DESIGN.md's diagram, with no due dates except the 12-month team-manager review. The real
machine must agree with it on every accept/refuse, every stage and every set of open clocks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from tests.models.lifecycle_fakes import add_months

PLAN = {"cin_plan", "step_down_panel", "final_meeting"}
S47_FROM = {"assessment", "plan_pending", "cin_plan", "step_down_panel", "final_meeting"}
MEETING_ANSWERS = {
    "cin_plan_meeting",
    "transfer_in_meeting",
    "plan_in_place",
    "cin_support_initiated",
}
PLAN_CLOCKS = {"plan_distributed", "first_review", "team_manager_review", "visit"}


@dataclass(frozen=True)
class Reference:
    cin_support: bool  # the policy starts a clock at the initial home visit (Warwickshire)
    stage: str = "new"
    open: frozenset[str] = frozenset()
    after_icpc: str | None = None
    tm_due: date | None = None
    assessment_started: bool = False
    home_visit: bool = False

    def step(self, event: Any) -> Reference | None:
        """The reference after `event`, or None if the lifecycle must refuse it."""
        if self.stage == "closed":
            return None
        if self.stage == "new":
            if event.type == "referral_received":
                return replace(self, stage="referral", open=frozenset({"referral_decision"}))
            if event.type == "transfer_in":
                return replace(self, stage="plan_pending", open=frozenset({"transfer_in_meeting"}))
            return None
        if event.type in ("transfer_out", "case_closed"):
            return self._closed()
        handler = getattr(self, f"_{event.type}", None)
        return None if handler is None else handler(event, set(self.open))

    def _closed(self) -> Reference:
        return replace(self, stage="closed", open=frozenset(), after_icpc=None)

    def _to(self, stage: str, open_: set[str], **more: Any) -> Reference:
        return replace(self, stage=stage, open=frozenset(open_), **more)

    def _visit_recorded(self, e: Any, o: set[str]) -> Reference:
        initial_home_visit = self.stage == "assessment" and not self.home_visit
        if "visit" not in o and initial_home_visit and self.cin_support:
            return self._to(self.stage, o | {"cin_support_initiated"}, home_visit=True)
        return self

    def _referral_decision(self, e: Any, o: set[str]) -> Reference | None:
        if self.stage != "referral":
            return None
        o.discard("referral_decision")
        if e.outcome in ("nfa", "early_help"):
            return self._closed()
        if e.outcome == "assessment":
            return self._to("assessment", o | {"assessment_completed"})
        return self._to(
            "child_protection", o | {"icpc", "assessment_completed"}, after_icpc="assessment"
        )

    def _assessment_started(self, e: Any, o: set[str]) -> Reference | None:
        if self.stage != "assessment" or self.assessment_started:
            return None
        return replace(self, assessment_started=True)

    def _assessment_completed(self, e: Any, o: set[str]) -> Reference | None:
        if self.stage != "assessment":
            return None
        o.discard("assessment_completed")
        if e.outcome in ("nfa", "step_down"):
            return self._closed()
        if e.outcome == "cin_plan":
            return self._to("plan_pending", o | {"cin_plan_meeting", "plan_in_place"})
        return self._to("child_protection", o | {"icpc"}, after_icpc="plan_pending")

    def _cin_meeting_held(self, e: Any, o: set[str]) -> Reference | None:
        if self.stage != "plan_pending":
            return None
        return self._to(
            "cin_plan", (o - MEETING_ANSWERS) | PLAN_CLOCKS, tm_due=add_months(e.on, 12)
        )

    def _plan_distributed(self, e: Any, o: set[str]) -> Reference | None:
        if self.stage in PLAN or (
            self.stage == "child_protection" and self.after_icpc == "cin_plan"
        ):
            return self._to(self.stage, o - {"plan_distributed"})
        return None

    def _review_held(self, e: Any, o: set[str]) -> Reference | None:
        if self.stage != "cin_plan":
            return None
        o -= {"first_review", "review"}
        assert self.tm_due is not None
        if e.chaired_by_team_manager and e.on >= self.tm_due:
            o.discard("team_manager_review")
        if e.outcome == "close":
            return self._closed()
        o.add("review")
        if e.outcome == "step_down_panel":
            return self._to("step_down_panel", o | {"step_down_panel"})
        if e.outcome == "escalate":
            return self._to("child_protection", o | {"icpc"}, after_icpc="cin_plan")
        return self._to("cin_plan", o)

    def _step_down_panel(self, e: Any, o: set[str]) -> Reference | None:
        if self.stage != "step_down_panel":
            return None
        o.discard("step_down_panel")
        return self._to("final_meeting" if e.outcome == "accepted" else "cin_plan", o)

    def _final_meeting_held(self, e: Any, o: set[str]) -> Reference | None:
        return self._closed() if self.stage == "final_meeting" else None

    def _s47_started(self, e: Any, o: set[str]) -> Reference | None:
        if self.stage not in S47_FROM:
            return None
        back = self.stage if self.stage in ("assessment", "plan_pending") else "cin_plan"
        o.discard("step_down_panel")
        return self._to("child_protection", o | {"icpc"}, after_icpc=back)

    def _icpc_held(self, e: Any, o: set[str]) -> Reference | None:
        if self.stage != "child_protection":
            return None
        o.discard("icpc")
        if e.outcome == "cp_plan":
            return self._to("cp_plan", {"first_cp_review"}, after_icpc=None)
        back = self.after_icpc or "plan_pending"
        if back == "plan_pending" and not o & {"cin_plan_meeting", "transfer_in_meeting"}:
            o |= {"cin_plan_meeting", "plan_in_place"}
        return self._to(back, o, after_icpc=None)
