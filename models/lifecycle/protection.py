"""Escalation to child protection (Working Together 2023): s47 enquiries, the ICPC, the CP plan.

Every route (a referral decision, an assessment or a review that escalates, or s47 enquiries
started directly) waits for the strategy discussion, recorded as `s47_started`; the ICPC is due
15 working days from that discussion. Enquiries can conclude that no conference is needed
(`s47_concluded`, icpc_not_required), which cancels the ICPC clock. While enquiries run, the
clocks of the stage the case came from keep running and the events that answer them stay legal
(an assessment completes, a CIN meeting or a review is held); an ICPC without a plan returns the
case there, one with a plan replaces everything with the CP plan's clocks: the first CP review 3
months from the ICPC, later ones at most 6 months apart (`cp_review_held`). A CP review can end
the plan, back to a CIN plan (a CIN meeting owed) or to closure (RC7).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from models.lifecycle.codes import CLOSED_SERVICES_CEASED
from models.lifecycle.draft import Draft
from models.lifecycle.events import (
    CoreGroupHeld,
    CpReviewHeld,
    IcpcHeld,
    S47Concluded,
    S47Started,
    StrategyDiscussionHeld,
)
from models.lifecycle.plan import answer_decision_without_consent, await_decision_without_consent
from models.lifecycle.state import Stage
from models.policy.timescales import TimescaleKind as K

# Where an ICPC without a plan returns to, by the stage s47 enquiries started from.
_RETURNS_TO: dict[Stage, Stage] = {
    Stage.ASSESSMENT: Stage.ASSESSMENT,
    Stage.PLAN_PENDING: Stage.PLAN_PENDING,
    Stage.CIN_PLAN: Stage.CIN_PLAN,
    Stage.STEP_DOWN_PANEL: Stage.CIN_PLAN,  # the step-down request lapses
    Stage.FINAL_MEETING: Stage.CIN_PLAN,
    Stage.NO_CONSENT: Stage.NO_CONSENT,
    Stage.DECISION: Stage.DECISION,
}


def escalate(d: Draft, *, back_to: Stage, strategy_owed: bool = True) -> None:
    """Move to child protection; the strategy discussion (`s47_started`) starts the ICPC clock.

    An escalation owes a strategy discussion: Working Together sets no number for it, so its
    clock is an engine default (engine-defaults.yaml, with its reason), met by `s47_started` or
    `strategy_discussion_held` (issue 19 point 4)."""
    d.cancel_kinds(K.STEP_DOWN_PANEL)
    d.move_to(Stage.CHILD_PROTECTION)
    d.state = replace(d.state, awaiting_strategy=strategy_owed, after_icpc=back_to)
    if strategy_owed:
        d.note("escalated: the ICPC is counted from the strategy discussion (s47_started)")
        d.open(K.STRATEGY_DISCUSSION, d.on)


def s47_started(d: Draft, e: S47Started | StrategyDiscussionHeld) -> None:
    _strategy_discussion(d, e.on)
    d.state = replace(d.state, s47_started=e.on, awaiting_strategy=False, had_s47=True)
    d.open(K.ICPC, e.on)


def _strategy_discussion(d: Draft, on: date) -> None:
    if d.state.stage is Stage.CHILD_PROTECTION:
        since = d.state.stage_since
        if not d.state.awaiting_strategy:
            d.refuse(f"s47 enquiries already started on {d.state.s47_started}")
        if since is not None and on < since:
            d.refuse(f"expected a strategy discussion on or after the escalation on {since}")
        owed = d.find(K.STRATEGY_DISCUSSION)
        if owed is not None:
            d.answer(owed)
    else:
        answer_decision_without_consent(d)  # the council decided again (issue 19 point 4e)
        back_to = _RETURNS_TO[d.state.stage]
        if d.state.stage is not back_to:
            d.note("s47 enquiries supersede the step-down; without a CP plan the CIN plan resumes")
        escalate(d, back_to=back_to, strategy_owed=False)


def strategy_discussion_held(d: Draft, e: StrategyDiscussionHeld) -> None:
    """Working Together 2023 ch.2: the strategy discussion decides whether s47 enquiries are
    needed. `s47` is `s47_started`; `no_s47` returns the case to what it was doing (the
    assessment goes on, the plan continues), or, after an assessment that decided to escalate,
    to the council's decision (a CIN plan, step down or close)."""
    if e.outcome == "s47":
        s47_started(d, e)
        return
    if d.state.stage is not Stage.CHILD_PROTECTION:
        d.note("the strategy discussion decided no s47 enquiries: the case carries on")
        return
    _strategy_discussion(d, e.on)
    d.state = replace(d.state, awaiting_strategy=False)
    d.note("the strategy discussion decided no s47 enquiries")
    _return_from_enquiries(d)


def _enquiries_under_way(d: Draft) -> None:
    if d.state.awaiting_strategy:
        d.refuse("expected the strategy discussion first (s47_started)")


def s47_concluded(d: Draft, e: S47Concluded) -> None:
    _enquiries_under_way(d)
    if e.outcome == "icpc_required":
        d.note("s47 enquiries concluded: an ICPC is required; its clock runs on")
        return
    d.cancel_kinds(K.ICPC)
    d.note("s47 enquiries concluded with no ICPC required: the ICPC clock is cancelled")
    _return_from_enquiries(d)


def icpc_held(d: Draft, e: IcpcHeld) -> None:
    _enquiries_under_way(d)
    icpc = d.find(K.ICPC)
    if icpc is not None:
        d.answer(icpc)
    if e.outcome == "cp_plan":
        # every clock of the earlier stage ends, except the assessment's: it goes on until it
        # completes, whatever else happens (Working Together: 45 WD from the referral)
        d.cancel_all(keep=(K.ASSESSMENT_COMPLETED,))
        d.move_to(Stage.CP_PLAN)
        d.state = replace(
            d.state,
            cp_plan_start=e.on,
            after_icpc=None,
            last_cp_review=None,
            visits_unset_since=None,  # the CIN plan's finding ends with the CIN plan
        )
        d.open(K.FIRST_CP_REVIEW, e.on)
        # the core group's first meeting within 10 WD of the ICPC (Working Together)
        d.open(K.FIRST_CORE_GROUP, e.on)
        return
    _return_from_enquiries(d)


def _return_from_enquiries(d: Draft) -> None:
    back_to = d.state.after_icpc or Stage.PLAN_PENDING
    d.state = replace(d.state, after_icpc=None)
    if back_to is Stage.PLAN_PENDING and d.find(K.CIN_PLAN_MEETING, K.TRANSFER_IN_MEETING) is None:
        # After an assessment that escalated: no conference, no plan decided. The outcomes are
        # the council's: continue or start a CIN plan, step down, or close (001 L353-355).
        d.move_to(Stage.DECISION)
        d.note("no child protection plan: the council decides a CIN plan, step-down or closure")
        return
    d.move_to(back_to)
    if back_to is Stage.NO_CONSENT:
        await_decision_without_consent(d)


def core_group_held(d: Draft, e: CoreGroupHeld) -> None:
    """A core group meeting (Working Together: the first within 10 WD of the ICPC)."""
    first = d.find(K.FIRST_CORE_GROUP)
    if first is None:
        d.note("no core group meeting was due; recorded for the timeline")
        return
    if e.on < first.start:
        d.refuse(f"expected a date on or after the ICPC on {first.start}")
    d.answer(first)


def cp_review_held(d: Draft, e: CpReviewHeld) -> None:
    floor = d.state.last_cp_review or d.state.cp_plan_start
    if floor is not None and e.on < floor:
        d.refuse(f"expected a review on or after {floor} (the ICPC or the last CP review)")
    due = d.find(K.FIRST_CP_REVIEW, K.CP_REVIEW)
    if due is not None:
        d.answer(due)
    d.state = replace(d.state, last_cp_review=e.on)
    if e.outcome == "close":
        d.close(CLOSED_SERVICES_CEASED)
    elif e.outcome == "cin_plan":
        # The CP plan ends and a CIN plan follows: its meeting is owed from this decision.
        d.cancel_all(keep=(K.ASSESSMENT_COMPLETED,))
        d.move_to(Stage.PLAN_PENDING)
        d.note("the child protection plan ended: a CIN plan follows")
        d.open(K.CIN_PLAN_MEETING, e.on)
    else:
        d.open(K.CP_REVIEW, e.on)
