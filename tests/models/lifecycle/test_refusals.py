"""Every class of refusal: the reason names the event, the stage and what was expected."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from models.lifecycle import (
    EVENT_TYPES,
    AssessmentCompleted,
    AssessmentStarted,
    CaseClosed,
    CaseState,
    CinMeetingHeld,
    Event,
    EventRefused,
    FinalMeetingHeld,
    IcpcHeld,
    PlanDistributed,
    ReferralDecision,
    ReferralReceived,
    ReviewHeld,
    S47Started,
    StepDownPanel,
    TransferIn,
    VisitRecorded,
    apply,
    initial_state,
    parse_event,
    rebuild,
    state_to_dict,
)
from tests.models.lifecycle.fakes import redbridge
from tests.models.lifecycle.helpers import d, one_of_each

POLICY = redbridge()
REFERRAL = ReferralReceived(on=d("2025-01-06"), source="1A")
ASSESSING = [REFERRAL, ReferralDecision(on=d("2025-01-07"), outcome="assessment")]
PLAN_PENDING = [*ASSESSING, AssessmentCompleted(on=d("2025-02-10"), outcome="cin_plan")]
IN_PLAN = [*PLAN_PENDING, CinMeetingHeld(on=d("2025-02-24"))]
CLOSED = [*IN_PLAN, ReviewHeld(on=d("2025-06-02"), outcome="close")]  # 003 L146: RC7


def state_after(events: list[Event]) -> CaseState:
    return rebuild(events, POLICY)


def refused(events: list[Event], event: Event) -> str:
    state = state_after(events)
    before = state_to_dict(state)
    with pytest.raises(EventRefused) as caught:
        apply(state, event, POLICY)
    assert state_to_dict(state) == before  # a refusal changes nothing
    reason = caught.value.reason
    assert reason.startswith(f"{event.type} on {event.on} refused at stage {state.stage.value}: ")
    return reason


def test_one_of_each_covers_every_event_type() -> None:
    assert sorted(e.type for e in one_of_each("2025-07-01")) == sorted(EVENT_TYPES)


@pytest.mark.parametrize("event", one_of_each("2025-07-01"), ids=lambda e: e.type)
def test_nothing_follows_a_closure(event: Event) -> None:
    reason = refused(CLOSED, event)
    assert "closed on 2025-06-02 (RC7)" in reason
    assert "a new referral starts a new case" in reason


@pytest.mark.parametrize(
    "event",
    [e for e in one_of_each("2025-01-06") if e.type not in ("referral_received", "transfer_in")],
    ids=lambda e: e.type,
)
def test_a_case_starts_with_a_referral_or_a_transfer_in(event: Event) -> None:
    assert "must start with referral_received or transfer_in" in refused([], event)


@pytest.mark.parametrize("stages", [ASSESSING, PLAN_PENDING], ids=["assessment", "plan_pending"])
def test_a_review_before_a_plan(stages: list[Event]) -> None:
    reason = refused(stages, ReviewHeld(on=d("2025-03-01"), outcome="continue"))
    assert "expected one of" in reason
    assert "review_held" not in reason.split("expected one of")[1]


@pytest.mark.parametrize(
    "event",
    [ReferralReceived(on=d("2025-03-01"), source="2A"), TransferIn(on=d("2025-03-01"))],
    ids=lambda e: e.type,
)
def test_a_second_referral_on_an_open_case(event: Event) -> None:
    assert "already open (a second referral needs a new case)" in refused(IN_PLAN, event)


@pytest.mark.parametrize(
    "event",
    [VisitRecorded(on=d("2025-01-05")), CaseClosed(on=d("2024-12-31"), reason="RC7")],
    ids=lambda e: e.type,
)
def test_an_event_dated_before_the_referral(event: Event) -> None:
    assert "on or after the case opened on 2025-01-06" in refused(IN_PLAN, event)


@pytest.mark.parametrize(
    ("history", "event"),
    [
        (ASSESSING, AssessmentCompleted(on=d("2025-01-06"), outcome="cin_plan")),
        (PLAN_PENDING, CinMeetingHeld(on=d("2025-02-07"))),
        (
            [*IN_PLAN, S47Started(on=d("2025-03-10"))],
            IcpcHeld(on=d("2025-03-05"), outcome="no_plan"),
        ),
        (
            [*IN_PLAN, ReviewHeld(on=d("2025-04-01"), outcome="step_down_panel")],
            StepDownPanel(on=d("2025-03-31"), outcome="rejected"),
        ),
        (IN_PLAN, CaseClosed(on=d("2025-02-20"), reason="RC1")),
        (IN_PLAN, S47Started(on=d("2025-02-21"))),
    ],
    ids=["assessment", "cin_meeting", "icpc", "panel", "closure", "s47"],
)
def test_a_stage_change_dated_before_the_stage_began(history: list[Event], event: Event) -> None:
    state = state_after(history)
    assert f"which began on {state.stage_since}" in refused(history, event)


def test_a_stage_change_on_the_day_the_stage_began() -> None:
    state = state_after(IN_PLAN)
    escalated = apply(state, ReviewHeld(on=d("2025-02-24"), outcome="escalate"), POLICY)
    assert escalated.state.stage.value == "child_protection"


def test_a_late_record_that_keeps_the_stage_is_accepted() -> None:
    state = state_after([*IN_PLAN, VisitRecorded(on=d("2025-05-01"))])
    late = apply(state, VisitRecorded(on=d("2025-01-20")), POLICY)  # during the assessment
    assert late.state.stage is state.stage


@pytest.mark.parametrize(
    ("history", "event", "expected"),
    [
        (ASSESSING, IcpcHeld(on=d("2025-02-01"), outcome="cp_plan"), "expected one of"),
        (IN_PLAN, StepDownPanel(on=d("2025-03-01"), outcome="accepted"), "expected one of"),
        (IN_PLAN, FinalMeetingHeld(on=d("2025-03-01")), "expected one of"),
        (
            IN_PLAN,
            AssessmentCompleted(on=d("2025-03-01"), outcome="nfa"),
            "expected an assessment under way",
        ),
        ([REFERRAL], S47Started(on=d("2025-01-06")), "expected one of"),
        (
            [*ASSESSING, S47Started(on=d("2025-01-08"))],
            S47Started(on=d("2025-01-09")),
            "s47 enquiries already started on 2025-01-08",
        ),
        (
            [*ASSESSING, S47Started(on=d("2025-01-08"))],
            PlanDistributed(on=d("2025-01-09")),
            "expected a CIN plan in force",
        ),
        (
            [*ASSESSING, AssessmentStarted(on=d("2025-01-08"))],
            AssessmentStarted(on=d("2025-01-09")),
            "already started on 2025-01-08",
        ),
        (
            [*ASSESSING, AssessmentStarted(on=d("2025-01-20"))],
            AssessmentCompleted(on=d("2025-01-15"), outcome="nfa"),
            "on or after the assessment's start on 2025-01-20",
        ),
        (
            [*IN_PLAN, ReviewHeld(on=d("2025-04-01"), outcome="continue")],
            ReviewHeld(on=d("2025-03-30"), outcome="continue"),
            "on or after 2025-04-01",
        ),
        (IN_PLAN, PlanDistributed(on=d("2025-02-20")), "on or after the CIN meeting on 2025-02-24"),
    ],
)
def test_events_the_stage_does_not_expect(
    history: list[Event], event: Event, expected: str
) -> None:
    assert expected in refused(history, event)


@pytest.mark.parametrize(
    ("record", "names"),
    [
        ({"type": "referral_received", "on": "2025-01-06", "source": "11"}, "source"),
        (
            {
                "type": "referral_received",
                "on": "2025-01-06",
                "source": "2A",
                "primary_need": "N10",
            },
            "primary_need",
        ),
        ({"type": "case_closed", "on": "2025-01-06", "reason": "RC0"}, "reason"),
        ({"type": "referral_decision", "on": "2025-01-06", "outcome": "maybe"}, "outcome"),
        ({"type": "case_reopened", "on": "2025-01-06"}, "type"),
        ({"type": "visit_recorded", "on": "06/01/2025"}, "on"),
        ({"type": "visit_recorded", "on": "2025-01-06", "by": "someone"}, "by"),
    ],
)
def test_unknown_codes_and_malformed_records(record: dict[str, str], names: str) -> None:
    with pytest.raises(EventRefused) as caught:
        parse_event(record)
    assert caught.value.reason.startswith(f"{record['type']} refused: ")
    assert names in caught.value.reason


def test_an_unknown_code_cannot_be_built_in_python_either() -> None:
    with pytest.raises(ValidationError):
        ReferralReceived(on=d("2025-01-06"), source="11")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        CaseClosed(on=d("2025-01-06"), reason="RC10")  # type: ignore[arg-type]


def test_rebuild_refuses_a_log_that_the_lifecycle_would_not_accept() -> None:
    with pytest.raises(EventRefused):
        rebuild([*IN_PLAN, *IN_PLAN], POLICY)
    assert initial_state().events_applied == 0


def test_a_date_the_policy_cannot_count_is_refused_not_guessed() -> None:
    before_any_policy = ReferralReceived(on=d("2017-12-29"), source="1A")  # fakes start in 2018
    reason = refused([], before_any_policy)
    assert "no policy to count from 2017-12-29: no policy version in force" in reason
