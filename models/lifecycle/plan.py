"""The CIN plan (Redbridge 003 s3-s4, s8, s10): the CIN meeting, plan copies, visits, step-down.

Clock starts: plan copies from the CIN meeting; the first review and the team-manager review from
the plan start (the meeting that agreed the plan); each visit from the previous visit, or the plan
start, at the plan's frequency where it sets one, else the policy's default.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from models.lifecycle.codes import CLOSED_TO_EARLY_HELP
from models.lifecycle.draft import Draft
from models.lifecycle.events import (
    CinMeetingHeld,
    FinalMeetingHeld,
    PlanDistributed,
    StepDownPanel,
    VisitRecorded,
)
from models.lifecycle.state import PLAN_STAGES, Stage
from models.timescales import TimescaleKind as K

# The clocks a CIN meeting answers: the meeting itself (after an assessment or a transfer in),
# "plan in place" and Warwickshire's "CIN support initiated".
_ANSWERED_BY_CIN_MEETING = (
    K.CIN_PLAN_MEETING,
    K.TRANSFER_IN_MEETING,
    K.PLAN_IN_PLACE,
    K.CIN_SUPPORT_INITIATED,
)


def cin_meeting_held(d: Draft, e: CinMeetingHeld) -> None:
    for kind in _ANSWERED_BY_CIN_MEETING:
        deadline = d.find(kind)
        if deadline is not None:
            d.answer(deadline)
    d.state = replace(d.state, plan_start=e.on, visit_frequency=e.visit_frequency)
    d.move_to(Stage.CIN_PLAN)
    d.open(K.PLAN_DISTRIBUTED, e.on)
    if d.open(K.FIRST_REVIEW, e.on) is None and d.open(K.REVIEW, e.on) is not None:
        d.note("no first-review timescale: the first review is counted at the review cycle")
    d.open(K.TEAM_MANAGER_REVIEW, e.on)
    open_next_visit(d, e.on, counted_from="plan start")


def plan_distributed(d: Draft, e: PlanDistributed) -> None:
    plan_start = d.state.plan_start
    in_force = d.state.stage in PLAN_STAGES or d.state.after_icpc is Stage.CIN_PLAN
    if plan_start is None or not in_force:
        d.refuse("expected a CIN plan in force (cin_meeting_held first)")
    if e.on < plan_start:
        d.refuse(f"expected a date on or after the CIN meeting on {plan_start}")
    copies = d.find(K.PLAN_DISTRIBUTED)
    if copies is None:
        d.note("no plan copies were due; recorded for the timeline")
    else:
        d.answer(copies)


def visit_recorded(d: Draft, e: VisitRecorded) -> None:
    last = d.state.last_visit
    d.state = replace(d.state, last_visit=e.on if last is None else max(last, e.on))
    due = d.find(K.VISIT)
    if due is not None:
        if e.on < due.start:
            d.note(f"visit on {e.on} is earlier than {due.key}'s start ({due.start}): kept only")
            return
        d.answer(due)
        open_next_visit(d, e.on, counted_from="previous visit")
        return
    if d.state.stage is Stage.ASSESSMENT and d.state.initial_home_visit is None:
        view = d.policy_on(e.on)
        if view.has(K.CIN_SUPPORT_INITIATED):
            # Warwickshire 002 s4.4.2: CIN support within 20 WD "from the initial home visit".
            d.state = replace(d.state, initial_home_visit=e.on)
            d.note("initial home visit: the CIN support clock starts")
            d.open(K.CIN_SUPPORT_INITIATED, e.on)
            return
    d.note("no visit clock was running; recorded for the timeline")


def open_next_visit(d: Draft, start: date, *, counted_from: str) -> None:
    """The next visit at the plan's frequency, else the policy's default."""
    d.open(K.VISIT, start, frequency=d.state.visit_frequency, counted_from=counted_from)


def step_down_panel(d: Draft, e: StepDownPanel) -> None:
    panel = d.find(K.STEP_DOWN_PANEL)
    if panel is not None:
        d.answer(panel)
    if e.outcome == "accepted":
        # 003 s8: once accepted, a final CIN meeting hands the family over to early help.
        d.move_to(Stage.FINAL_MEETING)
    else:
        d.move_to(Stage.CIN_PLAN)
        d.note("step-down refused: the plan, its reviews and visits continue")


def final_meeting_held(d: Draft, e: FinalMeetingHeld) -> None:
    d.close(CLOSED_TO_EARLY_HELP)
