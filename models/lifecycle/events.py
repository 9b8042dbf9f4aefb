"""What a practitioner's recording system tells the engine: one model per event, each dated `on`.

The names (`referral_received`, ...) are the CLI's. Events are pydantic models so that the CLI,
the Python API, bulk files and the Prefect UI all validate input the same way; `parse_event` turns
any malformed record (an unknown type, an unknown census code) into `EventRefused`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from calendars.types import Unit
from models.fields import iso_date_text, shown
from models.lifecycle.codes import (
    AssessmentFactorCode,
    CategoryOfAbuseCode,
    ClosureReasonCode,
    PrimaryNeedCode,
    ReferralSourceCode,
)
from models.lifecycle.errors import EventRefused

# `on` is a date or YYYY-MM-DD text; never 20250106, a week date or a number of seconds
IsoDate = Annotated[date, BeforeValidator(iso_date_text)]


class VisitFrequency(BaseModel):
    """How often the plan says the child is seen ("every 2 weeks"); Redbridge 003 s10."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: int = Field(gt=0, le=366)
    unit: Unit

    def describe(self) -> str:
        return f"every {self.amount} {self.unit.value}"


ReviewChair = Literal["team_manager", "senior_practitioner", "social_worker", "other"]


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    on: IsoDate


class ReferralReceived(_Event):
    type: Literal["referral_received"] = "referral_received"
    source: ReferralSourceCode
    primary_need: PrimaryNeedCode | None = None


class ReferralDecision(_Event):
    type: Literal["referral_decision"] = "referral_decision"
    outcome: Literal["nfa", "early_help", "assessment", "strategy_discussion"]


class AssessmentStarted(_Event):
    type: Literal["assessment_started"] = "assessment_started"


class AssessmentCompleted(_Event):
    """`consent` is the family's answer to section 17 support when the outcome is a CIN plan:
    support is voluntary (Warwickshire 002 L136 "Parents must consent to receive a children in need
    service"), so a refusal opens no plan clocks.

    For the census return: `authorised` is the AssessmentAuthorisationDate (the day of the event
    when not given) and `factors` the factors identified (CODES.md). A mistaken mix, such as 21
    beside other factors, is accepted as the worker recorded it and reported by
    `cin census check` with the event to correct."""

    type: Literal["assessment_completed"] = "assessment_completed"
    outcome: Literal["nfa", "step_down", "cin_plan", "escalate"]
    consent: bool = True
    authorised: IsoDate | None = None
    factors: tuple[AssessmentFactorCode, ...] = ()


class CinMeetingHeld(_Event):
    """`review_every`: the plan's own review interval, more often than the council's (003 L129:
    "Some plans may require review on a more frequent basis"); refused if less often."""

    type: Literal["cin_meeting_held"] = "cin_meeting_held"
    visit_frequency: VisitFrequency | None = None
    review_every: VisitFrequency | None = None


class SupportStarted(_Event):
    """CIN support began (Warwickshire 002 s4.4.2): meets "CIN support initiated" without a CIN
    meeting."""

    type: Literal["support_started"] = "support_started"


class ConsentWithdrawn(_Event):
    """The family withdrew consent to section 17 support: the plan's clocks stop (002 L136)."""

    type: Literal["consent_withdrawn"] = "consent_withdrawn"


class PlanDistributed(_Event):
    type: Literal["plan_distributed"] = "plan_distributed"


class ReviewHeld(_Event):
    type: Literal["review_held"] = "review_held"
    outcome: Literal["continue", "change", "step_down_panel", "escalate", "close"]
    visit_frequency: VisitFrequency | None = None
    review_every: VisitFrequency | None = None  # a new interval for the plan (003 L129)
    # who chaired it: after 12 months the next review is chaired by a team manager or senior
    # practitioner (Redbridge 003 L131); None = not recorded
    chair: ReviewChair | None = None


class VisitRecorded(_Event):
    """A visit to the child. `seen` and `seen_alone` (Ofsted's Annex A asks both: the date the
    child was last seen, whether they were seen alone at the last statutory visit of a child
    protection plan); None = not recorded. A visit where the child was not seen cannot have seen
    them alone."""

    type: Literal["visit_recorded"] = "visit_recorded"
    seen: bool | None = None
    seen_alone: bool | None = None

    @model_validator(mode="after")
    def _alone_only_if_seen(self) -> VisitRecorded:
        if self.seen is False and self.seen_alone:
            raise ValueError("seen_alone: expected false or none when the child was not seen")
        return self


class StepDownPanel(_Event):
    type: Literal["step_down_panel"] = "step_down_panel"
    outcome: Literal["accepted", "rejected"]


class FinalMeetingHeld(_Event):
    type: Literal["final_meeting_held"] = "final_meeting_held"


class S47Started(_Event):
    """A strategy discussion decided on section 47 enquiries; `on` is the strategy discussion,
    from which the ICPC is counted on every route (Working Together 2023)."""

    type: Literal["s47_started"] = "s47_started"


class StrategyDiscussionHeld(_Event):
    """A strategy discussion and its decision (Working Together 2023 ch.2: it decides whether
    section 47 enquiries are needed). `s47` starts the enquiries, and the ICPC is counted from
    this discussion; `no_s47` decides none: the assessment, or the plan, carries on (issue 19).
    `s47_started` remains the record of a discussion that decided on enquiries."""

    type: Literal["strategy_discussion_held"] = "strategy_discussion_held"
    outcome: Literal["s47", "no_s47"]


class S47Concluded(_Event):
    """Section 47 enquiries concluded; `icpc_not_required` cancels the ICPC clock (Working
    Together 2023: enquiries may conclude that no conference is needed)."""

    type: Literal["s47_concluded"] = "s47_concluded"
    outcome: Literal["icpc_required", "icpc_not_required"]


class CoreGroupHeld(_Event):
    """A core group meeting of a child protection plan; the first is due within 10 working days
    of the ICPC that made the plan (Working Together)."""

    type: Literal["core_group_held"] = "core_group_held"


class CpReviewHeld(_Event):
    """A child protection review conference: the plan continues, ends to a CIN plan, or ends."""

    type: Literal["cp_review_held"] = "cp_review_held"
    outcome: Literal["continue", "cin_plan", "close"]
    # the plan's category of abuse from this review on (the census LatestCategoryOfAbuse);
    # None = unchanged
    category: CategoryOfAbuseCode | None = None


class IcpcHeld(_Event):
    """`category` is the plan's initial category of abuse (the census InitialCategoryOfAbuse),
    refused when no plan is made. A plan recorded without one is accepted (older logs must still
    rebuild); `cin census export` and `check` name this event as the one to correct."""

    type: Literal["icpc_held"] = "icpc_held"
    outcome: Literal["cp_plan", "no_plan"]
    category: CategoryOfAbuseCode | None = None

    @model_validator(mode="after")
    def _category_with_plan(self) -> IcpcHeld:
        if self.outcome == "no_plan" and self.category is not None:
            raise ValueError("category is the plan's: expected none when no plan is made")
        return self


class TransferIn(_Event):
    """A child in need moved here from another authority; `on` is the day they became resident."""

    type: Literal["transfer_in"] = "transfer_in"
    primary_need: PrimaryNeedCode | None = None


class TransferOut(_Event):
    type: Literal["transfer_out"] = "transfer_out"


class CaseClosed(_Event):
    type: Literal["case_closed"] = "case_closed"
    reason: ClosureReasonCode


Event = Annotated[
    ReferralReceived
    | ReferralDecision
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
    | StrategyDiscussionHeld
    | S47Concluded
    | IcpcHeld
    | CoreGroupHeld
    | CpReviewHeld
    | TransferIn
    | TransferOut
    | CaseClosed,
    Field(discriminator="type"),
]

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)
EVENT_CLASSES: tuple[type[BaseModel], ...] = get_args(get_args(Event)[0])
EVENT_TYPES: tuple[str, ...] = tuple(cls.model_fields["type"].default for cls in EVENT_CLASSES)


def parse_event(data: Mapping[str, Any]) -> Event:
    """Validate a loose record (CLI, bulk file, stored row); anything malformed is refused."""
    try:
        return EVENT_ADAPTER.validate_python(dict(data))
    except ValidationError as exc:
        kind = data.get("type", "event")
        plain = isinstance(kind, str) and kind.isascii() and kind.isidentifier() and len(kind) <= 32
        name = kind if plain else shown(kind, 32)
        if kind not in EVENT_TYPES:
            problems = f"type: expected one of {', '.join(EVENT_TYPES)}"
        else:
            problems = "; ".join(_problems(exc.errors())[:3])
        raise EventRefused(f"{name} refused: {problems}") from None


# Code lists too long for a one-line refusal: the field, the list it takes, a few of its codes
# (the lists: models/lifecycle/codes.py, from the DfE's CIN census 2025-26 specification).
_LONG_CODE_LISTS = {
    "factors": "codes from the DfE assessment factors list, e.g. 1A, 2B, 21",
    "source": "a code from the DfE referral source list, e.g. 1A, 2A, 5C, 10",
}


def _problems(errors: Sequence[Any]) -> list[str]:
    """One line per field; pydantic's messages name the expected values, never the input. A long
    code list is named instead of spelt out, with the positions of the codes not on it."""
    listed: dict[str, list[str]] = {}
    problems: list[str] = []
    for err in errors:
        loc = [str(p) for p in err["loc"]]
        field = loc[1] if len(loc) > 1 else ""
        if err["type"] == "literal_error" and field in _LONG_CODE_LISTS:
            if field not in listed:
                listed[field] = []
                problems.append(field)  # placeholder, filled below
            if len(loc) > 2 and loc[2].isdigit():
                listed[field].append(str(int(loc[2]) + 1))
            continue
        problems.append(f"{'.'.join(loc) or 'record'}: {err['msg']}")
    for field, items in listed.items():
        where = ""
        if items:
            where = (
                f" (item {items[0]} is not)"
                if len(items) == 1
                else (f" (items {', '.join(items)} are not)")
            )
        problems[problems.index(field)] = f"{field}: expected {_LONG_CODE_LISTS[field]}{where}"
    return problems


def event_to_dict(event: Event) -> dict[str, Any]:
    """The JSON-able form of an event (what the event log stores); `parse_event` reads it back."""
    data: dict[str, Any] = EVENT_ADAPTER.dump_python(event, mode="json")
    return data
