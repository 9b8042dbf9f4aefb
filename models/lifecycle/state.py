"""The case as a frozen value: where it stands, the clocks that are running, what later rules need.

Only what the next event needs is kept (no history), so applying an event costs the same on the
first day of a case and the five-hundredth; the event log is the history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from models.lifecycle.codes import ClosureReasonCode, PrimaryNeedCode, ReferralSourceCode
from models.lifecycle.events import VisitFrequency
from models.policy.timescales import TimescaleKind


class Stage(StrEnum):
    """Where a case stands (DESIGN.md, "The process")."""

    NEW = "new"  # no event yet
    REFERRAL = "referral"  # awaiting the referral decision
    ASSESSMENT = "assessment"
    PLAN_PENDING = "plan_pending"  # a CIN plan is needed: awaiting the CIN meeting
    CIN_PLAN = "cin_plan"  # the plan is in force: reviews and visits
    STEP_DOWN_PANEL = "step_down_panel"  # a review asked the step-down panel; plan still in force
    FINAL_MEETING = "final_meeting"  # the panel accepted: awaiting the final CIN meeting
    CHILD_PROTECTION = "child_protection"  # strategy discussion / s47 enquiries: awaiting ICPC
    # enquiries or a strategy discussion ended without a plan after the assessment had decided
    # to escalate: the council decides (a CIN plan, step down or close; 001 L353-355)
    DECISION = "decision"
    NO_CONSENT = "no_consent"  # a plan was needed but the family refused or withdrew consent
    CP_PLAN = "cp_plan"  # the ICPC made a child protection plan
    CLOSED = "closed"


OPEN_STAGES: frozenset[Stage] = frozenset(Stage) - {Stage.NEW, Stage.CLOSED}
# Stages in which a CIN plan is in force (its reviews, visits and team-manager review run).
PLAN_STAGES: frozenset[Stage] = frozenset(
    {Stage.CIN_PLAN, Stage.STEP_DOWN_PANEL, Stage.FINAL_MEETING}
)


@dataclass(frozen=True, slots=True)
class OpenDeadline:
    """A running clock: `key` is stable for the life of the case ("review#3", "visit#12")."""

    key: str
    kind: TimescaleKind
    start: date  # the day the clock counts from
    due: date
    policy_ref: str  # the policy version it was counted under ("redbridge v1")


@dataclass(frozen=True, slots=True)
class CaseState:
    stage: Stage = Stage.NEW
    stage_since: date | None = None  # the date of the event that moved the case into `stage`
    referral_date: date | None = None  # the case opened: referral, or residence for a transfer in
    referral_source: ReferralSourceCode | None = None
    primary_need: PrimaryNeedCode | None = None
    transferred_in: bool = False
    referral_nfa: bool = False  # census ReferralNFA: closed at the decision, no assessment
    assessment_started: date | None = None
    # an assessment decided and not yet completed: it runs beside everything else (s47
    # enquiries, the ICPC, a CP plan) until `assessment_completed` (Working Together: 45 WD)
    assessment_open: bool = False
    initial_home_visit: date | None = None  # Warwickshire: starts "CIN support initiated"
    s47_started: date | None = None  # the latest strategy discussion that decided on s47
    had_s47: bool = False  # section 47 enquiries in this episode (census rule 2990)
    awaiting_strategy: bool = False  # escalated: the strategy discussion (s47_started) is next
    after_icpc: Stage | None = None  # child protection: where an ICPC with no plan returns to
    plan_start: date | None = None  # the CIN meeting that agreed the plan
    visit_frequency: VisitFrequency | None = None  # set by the plan; None = policy default
    # the meeting since which the plan has set no visiting frequency where the council's
    # document says it should (Redbridge 003 L202): a finding for the team manager
    visits_unset_since: date | None = None
    review_every: VisitFrequency | None = None  # the plan's own review interval (003 L129)
    last_review: date | None = None
    reviews_held: int = 0
    consecutive_continues: int = 0  # reviews in a row that decided "continue": drift
    chair_rule_from: date | None = None  # the plan is 12 months old (003 L131), where it applies
    chair_finding: date | None = None  # the first review after 12 months had another chair
    last_visit: date | None = None
    cp_plan_start: date | None = None
    last_cp_review: date | None = None
    consent_refused: date | None = None  # refused at the plan decision, or withdrawn later
    closed_on: date | None = None
    closure_reason: ClosureReasonCode | None = None
    deadlines: tuple[OpenDeadline, ...] = ()  # sorted by key
    clocks_opened: tuple[tuple[str, int], ...] = ()  # (family, how many opened), sorted
    events_applied: int = 0  # equals the last event sequence number when the log starts at 1

    @property
    def is_open(self) -> bool:
        return self.stage in OPEN_STAGES

    def deadline(self, key: str) -> OpenDeadline | None:
        return next((d for d in self.deadlines if d.key == key), None)


def initial_state() -> CaseState:
    """A case before its first event (which must be `referral_received` or `transfer_in`)."""
    return CaseState()
