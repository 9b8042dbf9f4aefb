"""Small factories for the lifecycle tests: run a history, compare its deadline changes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from models.lifecycle import (
    AssessmentCompleted,
    AssessmentStarted,
    CaseClosed,
    CaseState,
    CinMeetingHeld,
    ConsentWithdrawn,
    CoreGroupHeld,
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
    Stage,
    StepDownPanel,
    StrategyDiscussionHeld,
    SupportStarted,
    TransferIn,
    TransferOut,
    Transition,
    VisitRecorded,
    apply,
    initial_state,
)
from models.policy.timescales import PolicyTimeline

# (action, key, due) with the due date in ISO form, as a reader would write it
Change = tuple[str, str, str]


@dataclass(frozen=True)
class Step:
    event: Event
    stage: Stage
    changes: Sequence[Change] = ()


def changes_of(transition: Transition) -> list[Change]:
    return [(c.action.value, c.key, c.due.isoformat()) for c in transition.changes]


def run(policy: PolicyTimeline, steps: Sequence[Step]) -> CaseState:
    """Apply each step's event and check the stage reached and every deadline change."""
    state = initial_state()
    for number, step in enumerate(steps, start=1):
        transition = apply(state, step.event, policy)
        where = f"step {number} ({step.event.type} on {step.event.on})"
        assert transition.state.stage is step.stage, where
        assert changes_of(transition) == list(step.changes), where
        state = transition.state
    return state


def play(policy: PolicyTimeline, events: Sequence[Event]) -> list[Transition]:
    state, transitions = initial_state(), []
    for event in events:
        transition = apply(state, event, policy)
        transitions.append(transition)
        state = transition.state
    return transitions


def d(text: str) -> date:
    return date.fromisoformat(text)


def one_of_each(on: str) -> list[Event]:
    day = d(on)
    return [
        ReferralReceived(on=day, source="1A"),
        TransferIn(on=day),
        ReferralDecision(on=day, outcome="assessment"),
        AssessmentStarted(on=day),
        AssessmentCompleted(on=day, outcome="cin_plan"),
        CinMeetingHeld(on=day),
        PlanDistributed(on=day),
        ReviewHeld(on=day, outcome="continue"),
        VisitRecorded(on=day),
        StepDownPanel(on=day, outcome="accepted"),
        FinalMeetingHeld(on=day),
        S47Started(on=day),
        StrategyDiscussionHeld(on=day, outcome="no_s47"),
        IcpcHeld(on=day, outcome="cp_plan"),
        SupportStarted(on=day),
        ConsentWithdrawn(on=day),
        S47Concluded(on=day, outcome="icpc_not_required"),
        CpReviewHeld(on=day, outcome="continue"),
        CoreGroupHeld(on=day),
        TransferOut(on=day),
        CaseClosed(on=day, reason="RC1"),
    ]
