"""The case lifecycle as a pure state machine: state + event -> new state + deadline changes.

No Prefect, no database, no wall clock: dates come from events, due dates from a
`PolicyTimeline` (the version in force on the day each clock starts).
"""

from models.lifecycle.codes import (
    CLOSURE_REASONS,
    PRIMARY_NEEDS,
    REFERRAL_SOURCES,
    ClosureReasonCode,
    PrimaryNeedCode,
    ReferralSourceCode,
)
from models.lifecycle.errors import EventRefused
from models.lifecycle.events import (
    EVENT_TYPES,
    AssessmentCompleted,
    AssessmentStarted,
    CaseClosed,
    CinMeetingHeld,
    ConsentWithdrawn,
    CpReviewHeld,
    Event,
    FinalMeetingHeld,
    IcpcHeld,
    PlanDistributed,
    ReferralDecision,
    ReferralReceived,
    ReviewHeld,
    S47Concluded,
    S47Started,
    StepDownPanel,
    SupportStarted,
    TransferIn,
    TransferOut,
    VisitFrequency,
    VisitRecorded,
    event_to_dict,
    parse_event,
)
from models.lifecycle.machine import apply, expected_events, rebuild
from models.lifecycle.rereferral import add_calendar_months, is_re_referral
from models.lifecycle.serialise import STATE_SCHEMA_VERSION, state_from_dict, state_to_dict
from models.lifecycle.state import (
    OPEN_STAGES,
    PLAN_STAGES,
    CaseState,
    OpenDeadline,
    Stage,
    initial_state,
)
from models.lifecycle.transition import DeadlineAction, DeadlineChange, Transition

__all__ = [
    "CLOSURE_REASONS",
    "EVENT_TYPES",
    "OPEN_STAGES",
    "PLAN_STAGES",
    "PRIMARY_NEEDS",
    "REFERRAL_SOURCES",
    "STATE_SCHEMA_VERSION",
    "AssessmentCompleted",
    "AssessmentStarted",
    "CaseClosed",
    "CaseState",
    "CinMeetingHeld",
    "ClosureReasonCode",
    "ConsentWithdrawn",
    "CpReviewHeld",
    "DeadlineAction",
    "DeadlineChange",
    "Event",
    "EventRefused",
    "FinalMeetingHeld",
    "IcpcHeld",
    "OpenDeadline",
    "PlanDistributed",
    "PrimaryNeedCode",
    "ReferralDecision",
    "ReferralReceived",
    "ReferralSourceCode",
    "ReviewHeld",
    "S47Concluded",
    "S47Started",
    "Stage",
    "StepDownPanel",
    "SupportStarted",
    "TransferIn",
    "TransferOut",
    "Transition",
    "VisitFrequency",
    "VisitRecorded",
    "add_calendar_months",
    "apply",
    "event_to_dict",
    "expected_events",
    "initial_state",
    "is_re_referral",
    "parse_event",
    "rebuild",
    "state_from_dict",
    "state_to_dict",
]
