"""The vocabulary shared by policies and the case lifecycle: which clocks exist, what starts them.

Every deadline the engine raises is one of these kinds. A policy version sets, for each kind, an
amount, a unit, what the clock counts from and the source of the rule (DESIGN.md, "What each clock
counts from"). The lifecycle asks a `PolicyView` to count; it never knows the numbers itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol

from calendars.types import Unit


class PracticeRule(StrEnum):
    """A council's rule that is not a clock: it applies only where the council's document sets it
    (policy field `rules`, with its citation). Issue 19 point 7."""

    # Redbridge 003 L146: "A CiN Plan should not be ended unless a review has been completed"
    PLAN_ENDS_AT_REVIEW = "plan_ends_at_review"
    # The plan must state how often the child is seen: a plan without a frequency is refused
    # (a document that says "must") or flagged for the team manager (one that says "should":
    # Redbridge 003 L202, "The visiting frequency should form part of the overall CiN Plan").
    PLAN_MUST_SET_VISITS = "plan_must_set_visits"
    PLAN_SHOULD_SET_VISITS = "plan_should_set_visits"


class TimescaleKind(StrEnum):
    REFERRAL_DECISION = "referral_decision"
    ASSESSMENT_COMPLETED = "assessment_completed"
    CIN_SUPPORT_INITIATED = "cin_support_initiated"
    CIN_PLAN_MEETING = "cin_plan_meeting"
    PLAN_DISTRIBUTED = "plan_distributed"
    PLAN_IN_PLACE = "plan_in_place"
    FIRST_REVIEW = "first_review"
    REVIEW = "review"
    TEAM_MANAGER_REVIEW = "team_manager_review"
    VISIT = "visit"
    STEP_DOWN_PANEL = "step_down_panel"
    ICPC = "icpc"
    FIRST_CP_REVIEW = "first_cp_review"
    CP_REVIEW = "cp_review"
    TRANSFER_IN_MEETING = "transfer_in_meeting"
    STRATEGY_DISCUSSION = "strategy_discussion"  # after an escalation (engine default)
    FIRST_CORE_GROUP = "first_core_group"  # after an ICPC that made a CP plan (statutory)
    # after the family refused or withdrew consent: close or decide again (engine default)
    NO_CONSENT_DECISION = "no_consent_decision"


class Anchor(StrEnum):
    """The event a clock counts from."""

    REFERRAL = "referral"
    INITIAL_HOME_VISIT = "initial_home_visit"
    PLAN_DECISION = "plan_decision"  # assessment completed with outcome "CIN plan"
    CIN_MEETING = "cin_meeting"
    PLAN_START = "plan_start"  # the CIN meeting that agreed the plan
    PREVIOUS_REVIEW = "previous_review"
    PREVIOUS_VISIT = "previous_visit"
    STEP_DOWN_PANEL_REQUESTED = "step_down_panel_requested"
    STRATEGY_DISCUSSION = "strategy_discussion"
    ICPC = "icpc"
    PREVIOUS_CP_REVIEW = "previous_cp_review"
    RESIDENT = "resident"  # transfer in: the date the family became resident
    ESCALATION = "escalation"  # an assessment or review decided to escalate
    CONSENT_REFUSED = "consent_refused"  # the family refused or withdrew consent


# What each kind may count from: a policy naming any other anchor is refused.
ALLOWED_ANCHORS: dict[TimescaleKind, frozenset[Anchor]] = {
    TimescaleKind.REFERRAL_DECISION: frozenset({Anchor.REFERRAL}),
    TimescaleKind.ASSESSMENT_COMPLETED: frozenset({Anchor.REFERRAL}),
    TimescaleKind.CIN_SUPPORT_INITIATED: frozenset({Anchor.INITIAL_HOME_VISIT}),
    TimescaleKind.CIN_PLAN_MEETING: frozenset({Anchor.PLAN_DECISION}),
    TimescaleKind.PLAN_DISTRIBUTED: frozenset({Anchor.CIN_MEETING}),
    TimescaleKind.PLAN_IN_PLACE: frozenset({Anchor.REFERRAL}),
    TimescaleKind.FIRST_REVIEW: frozenset({Anchor.PLAN_START}),
    TimescaleKind.REVIEW: frozenset({Anchor.PREVIOUS_REVIEW}),
    TimescaleKind.TEAM_MANAGER_REVIEW: frozenset({Anchor.PLAN_START}),
    TimescaleKind.VISIT: frozenset({Anchor.PREVIOUS_VISIT}),
    TimescaleKind.STEP_DOWN_PANEL: frozenset({Anchor.STEP_DOWN_PANEL_REQUESTED}),
    TimescaleKind.ICPC: frozenset({Anchor.STRATEGY_DISCUSSION}),
    TimescaleKind.FIRST_CP_REVIEW: frozenset({Anchor.ICPC}),
    TimescaleKind.CP_REVIEW: frozenset({Anchor.PREVIOUS_CP_REVIEW}),
    TimescaleKind.TRANSFER_IN_MEETING: frozenset({Anchor.RESIDENT}),
    TimescaleKind.STRATEGY_DISCUSSION: frozenset({Anchor.ESCALATION}),
    TimescaleKind.FIRST_CORE_GROUP: frozenset({Anchor.ICPC}),
    TimescaleKind.NO_CONSENT_DECISION: frozenset({Anchor.CONSENT_REFUSED}),
}


@dataclass(frozen=True, slots=True)
class CountedDue:
    """A due date with the one-line explanation a manager reads ("why is this due that day?")."""

    due: date
    explanation: str  # "20 working days from referral on 2024-12-20 under warwickshire v1, ..."
    policy_ref: str  # "warwickshire v1"
    source: str  # the rule's citation, e.g. "002 s4.4.2" or "Working Together 2023"


class PolicyView(Protocol):
    """One authority's policy version in force on a date, as the lifecycle sees it."""

    @property
    def authority(self) -> str: ...

    @property
    def version(self) -> int: ...

    def has(self, kind: TimescaleKind) -> bool:
        """False where neither the authority nor the national default sets this clock."""
        ...

    def count(self, kind: TimescaleKind, start: date, *, anchor: str | None = None) -> CountedDue:
        """The due date of `kind` whose clock started on `start` (KeyError if not `has(kind)`);
        `anchor` names that day in the explanation when it is not the timescale's own anchor."""
        ...

    def count_custom(self, amount: int, unit: Unit, start: date, what: str) -> CountedDue:
        """A due date the case sets itself (the plan's own visit frequency), same calendar."""
        ...

    def rule(self, rule: PracticeRule) -> str | None:
        """The citation of `rule` where this version sets it; None where it does not."""
        ...


class PolicyTimeline(Protocol):
    """All versions of one authority's policy; a clock uses the version in force when it starts."""

    def on(self, day: date) -> PolicyView: ...
