"""The API's request and response bodies. Field limits are the domain's own (models/fields.py);
events and a child's details are the domain's own models, so the CLI and the API validate alike."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from models.census.child import ChildDetails
from models.fields import CHILD_REF, STAFF_ID, TEAM
from models.lifecycle.codes import ReferralSourceCode
from models.lifecycle.events import (
    AssessmentCompleted,
    AssessmentStarted,
    CaseClosed,
    CinMeetingHeld,
    ConsentWithdrawn,
    CpReviewHeld,
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
    VisitRecorded,
)

ChildRef = Annotated[
    str,
    Field(
        min_length=1,
        max_length=CHILD_REF.max_length,
        pattern=CHILD_REF.pattern.pattern,
        description=CHILD_REF.charset,  # the DfE's LA child ID (issue 19 point 13)
    ),
]
StaffId = Annotated[
    str, Field(min_length=1, max_length=STAFF_ID.max_length, pattern=STAFF_ID.pattern.pattern)
]
Team = Annotated[str, Field(min_length=1, max_length=TEAM.max_length, pattern=TEAM.pattern.pattern)]

OpeningEvent = Annotated[ReferralReceived | TransferIn, Field(discriminator="type")]
CaseEvent = Annotated[
    ReferralDecision
    | AssessmentStarted
    | AssessmentCompleted
    | SupportStarted
    | ConsentWithdrawn
    | CinMeetingHeld
    | PlanDistributed
    | ReviewHeld
    | VisitRecorded
    | StepDownPanel
    | FinalMeetingHeld
    | S47Started
    | S47Concluded
    | IcpcHeld
    | CpReviewHeld
    | TransferOut
    | CaseClosed,
    Field(discriminator="type"),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OpenCase(_Body):
    """A referral or a transfer in: starts a case for the child."""

    child_ref: ChildRef  # the recording system's reference for the child; never shown back
    team: Team | None = None
    recorded_by: StaffId  # the staff id of whoever made the record
    event: OpeningEvent


class RecordEvent(_Body):
    recorded_by: StaffId
    event: CaseEvent


class SetChild(_Body):
    """A child's census details (personal data): replaced whole."""

    child_ref: ChildRef
    details: ChildDetails


class RecordContact(_Body):
    """A contact at the front door (Ofsted's Annex A List 1): never a case. The same child, day
    and source again is the same contact."""

    child_ref: ChildRef
    on: date
    source: ReferralSourceCode  # who made contact: the DfE referral source codes


class ContactRecorded(BaseModel):
    authority: str
    status: Literal["recorded"] = "recorded"


class Accepted(BaseModel):
    case: str
    seq: int
    event_type: str


class ChildSet(BaseModel):
    authority: str
    status: Literal["set"] = "set"


class DeadlineOut(BaseModel):
    key: str
    kind: str
    due: date
    status: str
    met_on: date | None
    overdue: bool
    policy: str
    explanation: str


class EventOut(BaseModel):
    seq: int
    type: str
    on: date
    recorded_at: datetime
    actor_kind: str
    actor: str
    recorded_by: str | None


class CaseOut(BaseModel):
    case: str
    authority: str
    team: str | None
    stage: str
    referral_date: date
    re_referral: bool
    deadlines: list[DeadlineOut]
    events_total: int
    events: list[EventOut]  # the latest EVENTS_SHOWN, oldest first


class DeadlineItem(BaseModel):
    case: str
    team: str | None
    key: str
    kind: str
    due: date
    status: str
    days_overdue: int
    explanation: str


class Health(BaseModel):
    status: Literal["ok"]
    database: Literal["ok"]
