"""`apply(state, event, policy) -> Transition`: the whole lifecycle as one pure function.

The stage graph (DESIGN.md, "The process"). Every open stage also accepts visit_recorded,
transfer_out (-> closed, RC5) and case_closed (-> closed, with its reason).

    new              referral_received -> referral;  transfer_in -> plan_pending
    referral         referral_decision: nfa -> closed (RC8) | early_help -> closed (RC9)
                                      | assessment -> assessment
                                      | strategy_discussion -> child_protection
    assessment       assessment_started (stays); support_started (stays);
                     assessment_completed: nfa -> closed (RC8) | step_down -> closed (RC9)
                                         | cin_plan, consent -> plan_pending
                                         | cin_plan, no consent -> no_consent
                                         | escalate -> child_protection
    plan_pending     cin_meeting_held -> cin_plan; consent_withdrawn -> no_consent
    cin_plan         plan_distributed (stays);
                     review_held: continue | change (stay) | close -> closed (RC7)
                                | step_down_panel -> step_down_panel | escalate -> child_protection
    step_down_panel  step_down_panel: accepted -> final_meeting | rejected -> cin_plan
    final_meeting    final_meeting_held -> closed (RC7)
    cin_plan, step_down_panel, final_meeting
                     review_held continue | change (stay), consent_withdrawn -> no_consent
    assessment, plan_pending, cin_plan, step_down_panel, final_meeting, no_consent
                     s47_started -> child_protection (the strategy discussion: ICPC in 15 WD)
    child_protection s47_started (after an escalation: the strategy discussion);
                     s47_concluded: icpc_required (stays) | icpc_not_required -> where it came from
                     icpc_held: cp_plan -> cp_plan | no_plan -> the stage s47 started from
                     (an assessment that escalated returns to plan_pending); while enquiries run
                     the previous stage's events that answer its clocks stay legal:
                     assessment_completed, support_started, cin_meeting_held, review_held,
                     plan_distributed
    cp_plan          core_group_held (stays);
                     cp_review_held: continue (stays) | cin_plan -> plan_pending
                                   | close -> closed (RC7)
    no_consent       (the family refused or withdrew consent) case_closed, transfer_out
    decision         (enquiries or a strategy discussion ended with no plan after an assessment
                     that escalated) cin_meeting_held -> cin_plan; case_closed; s47_started;
                     consent_withdrawn -> no_consent
    any open stage   assessment_started, assessment_completed while the assessment is under way:
                     it runs beside s47 enquiries, the ICPC and a CP plan until it completes;
                     strategy_discussion_held s47 = s47_started; no_s47 -> where it came from

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
from models.policy.timescales import PolicyTimeline

_S = Stage
_PLAN = frozenset({_S.CIN_PLAN, _S.STEP_DOWN_PANEL, _S.FINAL_MEETING})
_STRATEGY = _PLAN | {
    _S.ASSESSMENT,
    _S.PLAN_PENDING,
    _S.NO_CONSENT,
    _S.CHILD_PROTECTION,
    _S.DECISION,
}
_ALLOWED: dict[str, frozenset[Stage]] = {
    "referral_received": frozenset({_S.NEW}),
    "transfer_in": frozenset({_S.NEW}),
    "referral_decision": frozenset({_S.REFERRAL}),
    # the assessment runs beside everything else until it completes (the handlers check that
    # one is under way): DESIGN.md, "A case is several activities at once"
    "assessment_started": OPEN_STAGES,
    "assessment_completed": OPEN_STAGES,
    "support_started": frozenset({_S.ASSESSMENT, _S.PLAN_PENDING, _S.CHILD_PROTECTION}),
    "consent_withdrawn": frozenset({_S.PLAN_PENDING, _S.DECISION}) | _PLAN,
    "cin_meeting_held": frozenset({_S.PLAN_PENDING, _S.CHILD_PROTECTION, _S.DECISION}),
    "plan_distributed": _PLAN | {_S.CHILD_PROTECTION},
    "review_held": _PLAN | {_S.CHILD_PROTECTION},
    "visit_recorded": OPEN_STAGES,
    "step_down_panel": frozenset({_S.STEP_DOWN_PANEL}),
    "final_meeting_held": frozenset({_S.FINAL_MEETING}),
    "s47_started": _STRATEGY,
    "strategy_discussion_held": _STRATEGY,
    "s47_concluded": frozenset({_S.CHILD_PROTECTION}),
    "icpc_held": frozenset({_S.CHILD_PROTECTION}),
    "cp_review_held": frozenset({_S.CP_PLAN}),
    "core_group_held": frozenset({_S.CP_PLAN}),
    "transfer_out": OPEN_STAGES,
    "case_closed": OPEN_STAGES,
}

_HANDLERS: dict[str, Callable[[Draft, Any], None]] = {
    "referral_received": intake.referral_received,
    "transfer_in": intake.transfer_in,
    "referral_decision": intake.referral_decision,
    "assessment_started": intake.assessment_started,
    "assessment_completed": intake.assessment_completed,
    "support_started": intake.support_started,
    "consent_withdrawn": plan.consent_withdrawn,
    "cin_meeting_held": plan.cin_meeting_held,
    "plan_distributed": plan.plan_distributed,
    "review_held": reviews.review_held,
    "visit_recorded": plan.visit_recorded,
    "step_down_panel": plan.step_down_panel,
    "final_meeting_held": plan.final_meeting_held,
    "s47_started": protection.s47_started,
    "strategy_discussion_held": protection.strategy_discussion_held,
    "s47_concluded": protection.s47_concluded,
    "icpc_held": protection.icpc_held,
    "cp_review_held": protection.cp_review_held,
    "core_group_held": protection.core_group_held,
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
