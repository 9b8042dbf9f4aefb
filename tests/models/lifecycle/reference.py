"""An independent, deliberately naive model of the lifecycle for the stateful test.

It knows only the stage graph and which kinds of deadline are open (as plain strings), written
from DESIGN.md's diagram and issue 8's rules, with no due dates; the one date rule it keeps is
the 12-month chair rule (Redbridge 003 L131). The real machine must agree with it on every
accept/refuse, every stage, every set of open clocks and every chair finding.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from tests.models.lifecycle.fakes import add_months

PLAN = {"cin_plan", "step_down_panel", "final_meeting"}
S47_FROM = PLAN | {"assessment", "plan_pending", "no_consent", "decision"}
MEETING_ANSWERS = {
    "cin_plan_meeting",
    "transfer_in_meeting",
    "plan_in_place",
    "cin_support_initiated",
}
ENDS_A_PLAN_BY_ITSELF = {"RC1", "RC2", "RC3", "RC4", "RC5", "RC6"}


@dataclass(frozen=True)
class Reference:
    cin_support: bool  # the policy starts a clock at the initial home visit (Warwickshire)
    strategy_clock: bool = False  # the policy sets strategy_discussion and first_core_group
    stage: str = "new"
    open: frozenset[str] = frozenset()
    after_icpc: str | None = None
    awaiting_strategy: bool = False
    assessment_started: bool = False
    assessment_open: bool = False  # issue 19: the assessment runs beside everything else
    had_s47: bool = False  # DfE rule 2990: no RC8/RC9 on an episode with s47 enquiries
    home_visit: bool = False
    had_plan: bool = False
    frequency: Any = None
    plan_start: date | None = None
    last_review: date | None = None
    chair_finding: date | None = None

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
        if event.type == "transfer_out":
            return self._closed()
        handler = getattr(self, f"_{event.type}", None)
        return None if handler is None else handler(event, set(self.open))

    @property
    def plan_in_force(self) -> bool:
        return self.stage in PLAN or (
            self.stage == "child_protection" and self.after_icpc == "cin_plan"
        )

    def _closed(self) -> Reference:
        return replace(
            self,
            stage="closed",
            open=frozenset(),
            after_icpc=None,
            assessment_open=False,
            awaiting_strategy=False,
        )

    def _to(self, stage: str, open_: set[str], **more: Any) -> Reference:
        return replace(self, stage=stage, open=frozenset(open_), **more)

    def _case_closed(self, e: Any, o: set[str]) -> Reference | None:
        in_force = self.plan_in_force or self.stage == "cp_plan"
        if in_force and e.reason not in ENDS_A_PLAN_BY_ITSELF:
            return None  # 003 L146: a review decides a plan's end
        if (self.had_plan or self.had_s47) and e.reason in ("RC8", "RC9"):
            return None  # "closed after assessment": the census rejects it (rule 2990)
        return self._closed()

    def _visit_recorded(self, e: Any, o: set[str]) -> Reference:
        initial_home_visit = self.assessment_open and not self.home_visit
        if "visit" not in o and initial_home_visit and self.cin_support:
            return replace(self, home_visit=True)  # 002 L166: no clock until a plan is agreed
        return self

    def _escalated(self, o: set[str], back: str) -> Reference:
        o.discard("step_down_panel")
        if self.strategy_clock:  # issue 19 point 4: an engine default, where a policy takes it
            o.add("strategy_discussion")
        return self._to("child_protection", o, after_icpc=back, awaiting_strategy=True)

    def _referral_decision(self, e: Any, o: set[str]) -> Reference | None:
        if self.stage != "referral":
            return None
        o.discard("referral_decision")
        if e.outcome in ("nfa", "early_help"):
            return self._closed()
        o.add("assessment_completed")
        if e.outcome == "assessment":
            return self._to("assessment", o, assessment_open=True)
        return replace(self._escalated(o, "assessment"), assessment_open=True)

    def _assessment_started(self, e: Any, o: set[str]) -> Reference | None:
        if not self.assessment_open or self.assessment_started:
            return None
        return replace(self, assessment_started=True)

    def _plan_decided(self, o: set[str]) -> set[str]:
        o = o | {"cin_plan_meeting", "plan_in_place"}
        return o | {"cin_support_initiated"} if self.cin_support else o

    def _assessment_completed(self, e: Any, o: set[str]) -> Reference | None:
        if not self.assessment_open:
            return None
        during_s47 = self.stage == "child_protection" and self.after_icpc == "assessment"
        ends = e.outcome in ("nfa", "step_down")
        if self.stage != "assessment" and not during_s47 and ends:
            return None
        o.discard("assessment_completed")
        refused_consent = e.outcome == "cin_plan" and not e.consent
        done = replace(self, assessment_open=False)
        if during_s47:
            if ends:
                return None
            if refused_consent:
                return done._to(self.stage, o, after_icpc="no_consent")
            if e.outcome == "cin_plan":
                o = self._plan_decided(o)
            return done._to(self.stage, o, after_icpc="plan_pending")
        if self.stage != "assessment":
            return done._to(self.stage, o)
        if ends:
            return self._closed()
        if refused_consent:
            return done._to("no_consent", o)
        if e.outcome == "cin_plan":
            return done._to("plan_pending", self._plan_decided(o))
        return done._escalated(o, "plan_pending")

    def _support_started(self, e: Any, o: set[str]) -> Reference | None:
        if self.stage not in ("assessment", "plan_pending", "child_protection"):
            return None
        return self._to(self.stage, o - {"cin_support_initiated"})

    def _consent_withdrawn(self, e: Any, o: set[str]) -> Reference | None:
        if self.stage not in ("plan_pending", "decision") and self.stage not in PLAN:
            return None
        return self._to("no_consent", o & {"assessment_completed"}, after_icpc=None)

    def _cin_meeting_held(self, e: Any, o: set[str]) -> Reference | None:
        during_s47 = self.stage == "child_protection" and self.after_icpc == "plan_pending"
        if self.stage not in ("plan_pending", "decision") and not during_s47:
            return None
        o = (o - MEETING_ANSWERS) | {"plan_distributed", "first_review"}
        if e.visit_frequency is not None:
            o.add("visit")
        else:
            o.discard("visit")
        return self._to(
            self.stage if during_s47 else "cin_plan",
            o,
            after_icpc="cin_plan" if during_s47 else self.after_icpc,
            had_plan=True,
            frequency=e.visit_frequency,
            plan_start=e.on,
            last_review=None,
            chair_finding=None,
        )

    def _plan_distributed(self, e: Any, o: set[str]) -> Reference | None:
        if not self.plan_in_force:
            return None
        return self._to(self.stage, o - {"plan_distributed"})

    def _review_held(self, e: Any, o: set[str]) -> Reference | None:
        if not self.plan_in_force:
            return None
        if self.stage != "cin_plan" and e.outcome not in ("continue", "change"):
            return None
        assert self.plan_start is not None
        rule_from = add_months(self.plan_start, 12)
        first_after = e.on >= rule_from and (
            self.last_review is None or self.last_review < rule_from
        )
        chaired = e.chair in ("team_manager", "senior_practitioner")
        finding = e.on if first_after and not chaired else None
        o -= {"first_review", "review"}
        if e.outcome == "close":
            return replace(self._closed(), chair_finding=finding, last_review=e.on)
        frequency = self.frequency
        if e.visit_frequency is not None and e.visit_frequency != self.frequency:
            frequency = e.visit_frequency
            o.add("visit")
        o |= {"plan_distributed", "review"}
        more: dict[str, Any] = {
            "chair_finding": finding,
            "last_review": e.on,
            "frequency": frequency,
        }
        if e.outcome == "step_down_panel":
            return self._to("step_down_panel", o | {"step_down_panel"}, **more)
        if e.outcome == "escalate":
            return replace(self._escalated(o, "cin_plan"), **more)
        return self._to(self.stage, o, **more)

    def _step_down_panel(self, e: Any, o: set[str]) -> Reference | None:
        if self.stage != "step_down_panel":
            return None
        o.discard("step_down_panel")
        return self._to("final_meeting" if e.outcome == "accepted" else "cin_plan", o)

    def _final_meeting_held(self, e: Any, o: set[str]) -> Reference | None:
        return self._closed() if self.stage == "final_meeting" else None

    def _s47_started(self, e: Any, o: set[str]) -> Reference | None:
        if self.stage == "child_protection":
            if not self.awaiting_strategy:
                return None
            o.discard("strategy_discussion")
            return self._to(self.stage, o | {"icpc"}, awaiting_strategy=False, had_s47=True)
        if self.stage not in S47_FROM:
            return None
        back = self.stage if self.stage not in PLAN else "cin_plan"
        o.discard("step_down_panel")
        return self._to(
            "child_protection",
            o | {"icpc"},
            after_icpc=back,
            awaiting_strategy=False,
            had_s47=True,
        )

    def _strategy_discussion_held(self, e: Any, o: set[str]) -> Reference | None:
        if e.outcome == "s47":
            return self._s47_started(e, o)
        if self.stage == "child_protection":
            if not self.awaiting_strategy:
                return None
            o.discard("strategy_discussion")
            return replace(self, awaiting_strategy=False)._return(o)
        return self if self.stage in S47_FROM else None

    def _return(self, o: set[str]) -> Reference:
        back = self.after_icpc or "plan_pending"
        if back == "plan_pending" and not o & {"cin_plan_meeting", "transfer_in_meeting"}:
            back = "decision"  # issue 19 point 4: the council decides, no plan assumed
        return self._to(back, o, after_icpc=None)

    def _s47_concluded(self, e: Any, o: set[str]) -> Reference | None:
        if self.stage != "child_protection" or self.awaiting_strategy:
            return None
        if e.outcome == "icpc_required":
            return self
        o.discard("icpc")
        return self._return(o)

    def _icpc_held(self, e: Any, o: set[str]) -> Reference | None:
        if self.stage != "child_protection" or self.awaiting_strategy:
            return None
        o.discard("icpc")
        if e.outcome == "cp_plan":
            kept = o & {"assessment_completed"}  # issue 19 point 1: it runs on
            kept |= {"first_cp_review"} | ({"first_core_group"} if self.strategy_clock else set())
            return self._to("cp_plan", kept, after_icpc=None, had_plan=True)

        return self._return(o)

    def _core_group_held(self, e: Any, o: set[str]) -> Reference | None:
        if self.stage != "cp_plan":
            return None
        return self._to("cp_plan", o - {"first_core_group"})

    def _cp_review_held(self, e: Any, o: set[str]) -> Reference | None:
        if self.stage != "cp_plan":
            return None
        o -= {"first_cp_review", "cp_review"}
        if e.outcome == "close":
            return self._closed()
        if e.outcome == "cin_plan":
            return self._to("plan_pending", (o & {"assessment_completed"}) | {"cin_plan_meeting"})
        return self._to("cp_plan", o | {"cp_review"})
