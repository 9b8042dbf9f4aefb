"""`apply(state, event, policy) -> Transition`: the whole lifecycle as one pure function.

The stage graph (DESIGN.md, "The process"). Every open stage also accepts visit_recorded,
transfer_out (-> closed, RC5) and case_closed (-> closed, with its reason).

    new              referral_received -> referral;  transfer_in -> plan_pending
    referral         referral_decision: nfa -> closed (RC8) | early_help -> closed (RC9)
                                      | assessment -> assessment
                                      | strategy_discussion -> child_protection
    assessment       assessment_started (stays);
                     assessment_completed: nfa -> closed (RC8) | step_down -> closed (RC9)
                                         | cin_plan -> plan_pending | escalate -> child_protection
    plan_pending     cin_meeting_held -> cin_plan
    cin_plan         plan_distributed (stays);
                     review_held: continue | change (stay) | close -> closed (RC7)
                                | step_down_panel -> step_down_panel | escalate -> child_protection
    step_down_panel  step_down_panel: accepted -> final_meeting | rejected -> cin_plan
    final_meeting    final_meeting_held -> closed (RC9)
    assessment, plan_pending, cin_plan, step_down_panel, final_meeting
                     s47_started -> child_protection
    child_protection icpc_held: cp_plan -> cp_plan | no_plan -> the stage s47 started from
                     (an assessment that escalated returns to plan_pending)

Refused: anything before the first referral or transfer in, anything after closure, anything
dated before the referral, an event the stage does not expect, and a stage change dated before
the current stage began. Late records are otherwise fine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from models.lifecycle import closure, intake, plan, protection, reviews
from models.lifecycle.draft import Draft
from models.lifecycle.events import Event
from models.lifecycle.state import OPEN_STAGES, CaseState, Stage, initial_state
from models.lifecycle.transition import Transition
from models.timescales import PolicyTimeline

_S = Stage
_ALLOWED: dict[str, frozenset[Stage]] = {
    "referral_received": frozenset({_S.NEW}),
    "transfer_in": frozenset({_S.NEW}),
    "referral_decision": frozenset({_S.REFERRAL}),
    "assessment_started": frozenset({_S.ASSESSMENT}),
    "assessment_completed": frozenset({_S.ASSESSMENT}),
    "cin_meeting_held": frozenset({_S.PLAN_PENDING}),
    "plan_distributed": frozenset(
        {_S.CIN_PLAN, _S.STEP_DOWN_PANEL, _S.FINAL_MEETING, _S.CHILD_PROTECTION}
    ),
    "review_held": frozenset({_S.CIN_PLAN}),
    "visit_recorded": OPEN_STAGES,
    "step_down_panel": frozenset({_S.STEP_DOWN_PANEL}),
    "final_meeting_held": frozenset({_S.FINAL_MEETING}),
    "s47_started": frozenset(
        {_S.ASSESSMENT, _S.PLAN_PENDING, _S.CIN_PLAN, _S.STEP_DOWN_PANEL, _S.FINAL_MEETING}
    ),
    "icpc_held": frozenset({_S.CHILD_PROTECTION}),
    "transfer_out": OPEN_STAGES,
    "case_closed": OPEN_STAGES,
}

_HANDLERS: dict[str, Callable[[Draft, Any], None]] = {
    "referral_received": intake.referral_received,
    "transfer_in": intake.transfer_in,
    "referral_decision": intake.referral_decision,
    "assessment_started": intake.assessment_started,
    "assessment_completed": intake.assessment_completed,
    "cin_meeting_held": plan.cin_meeting_held,
    "plan_distributed": plan.plan_distributed,
    "review_held": reviews.review_held,
    "visit_recorded": plan.visit_recorded,
    "step_down_panel": plan.step_down_panel,
    "final_meeting_held": plan.final_meeting_held,
    "s47_started": protection.s47_started,
    "icpc_held": protection.icpc_held,
    "transfer_out": closure.transfer_out,
    "case_closed": closure.case_closed,
}


def expected_events(stage: Stage) -> tuple[str, ...]:
    """The events a case at `stage` can accept (before date and outcome checks)."""
    return tuple(name for name, stages in _ALLOWED.items() if stage in stages)


def apply(state: CaseState, event: Event, policy: PolicyTimeline) -> Transition:
    """The new state and the deadline changes `event` causes; `EventRefused` if it cannot be."""
    draft = Draft(state, event, policy)
    if state.stage is Stage.CLOSED:
        draft.refuse(
            f"the case closed on {state.closed_on} ({state.closure_reason}); nothing can follow "
            "a closure (a new referral starts a new case)"
        )
    if event.type not in _ALLOWED or state.stage not in _ALLOWED[event.type]:
        if state.stage is Stage.NEW:
            draft.refuse("a case must start with referral_received or transfer_in")
        if event.type in ("referral_received", "transfer_in"):
            draft.refuse("the case is already open (a second referral needs a new case)")
        draft.refuse(f"expected one of {', '.join(expected_events(state.stage))}")
    if state.referral_date is not None and event.on < state.referral_date:
        draft.refuse(f"expected a date on or after the case opened on {state.referral_date}")

    _HANDLERS[event.type](draft, event)

    since = state.stage_since
    if draft.state.stage is not state.stage and since is not None and event.on < since:
        draft.refuse(
            f"it would leave stage {state.stage.value}, which began on {since}; expected a "
            "date on or after that"
        )
    return draft.finish()


def rebuild(events: Iterable[Event], policy: PolicyTimeline) -> CaseState:
    """Fold `apply` over a case's event log; equals the live state if the log is the truth."""
    state = initial_state()
    for event in events:
        state = apply(state, event, policy).state
    return state
