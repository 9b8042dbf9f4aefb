"""Escalation to child protection (Working Together 2023): s47 enquiries, the ICPC, the CP plan.

The ICPC is due 15 working days from the strategy discussion; the first CP review 3 months from
the ICPC. While enquiries run, the clocks of the stage the case came from keep running (a CIN plan
stays in force, an assessment continues); an ICPC that makes no plan returns the case there, and
one that makes a plan replaces everything with the CP plan's clocks.
"""

from __future__ import annotations

from dataclasses import replace

from models.lifecycle.draft import Draft
from models.lifecycle.events import IcpcHeld, S47Started
from models.lifecycle.intake import open_plan_decision_clocks
from models.lifecycle.state import Stage
from models.timescales import TimescaleKind as K

# Where an ICPC without a plan returns to, by the stage s47 enquiries started from.
_RETURNS_TO: dict[Stage, Stage] = {
    Stage.ASSESSMENT: Stage.ASSESSMENT,
    Stage.PLAN_PENDING: Stage.PLAN_PENDING,
    Stage.CIN_PLAN: Stage.CIN_PLAN,
    Stage.STEP_DOWN_PANEL: Stage.CIN_PLAN,  # the step-down request lapses
    Stage.FINAL_MEETING: Stage.CIN_PLAN,
}


def s47_started(d: Draft, e: S47Started) -> None:
    back_to = _RETURNS_TO[d.state.stage]
    d.cancel_kinds(K.STEP_DOWN_PANEL)
    if d.state.stage is not back_to:
        d.note("s47 enquiries supersede the step-down; without a CP plan the CIN plan resumes")
    d.move_to(Stage.CHILD_PROTECTION)
    d.state = replace(d.state, s47_started=e.on, after_icpc=back_to)
    d.open(K.ICPC, e.on)


def icpc_held(d: Draft, e: IcpcHeld) -> None:
    icpc = d.find(K.ICPC)
    if icpc is not None:
        d.answer(icpc)
    if e.outcome == "cp_plan":
        d.cancel_all()
        d.move_to(Stage.CP_PLAN)
        d.state = replace(d.state, cp_plan_start=e.on, after_icpc=None)
        d.open(K.FIRST_CP_REVIEW, e.on)
        return
    back_to = d.state.after_icpc or Stage.PLAN_PENDING
    d.move_to(back_to)
    d.state = replace(d.state, after_icpc=None)
    if back_to is Stage.PLAN_PENDING and d.find(K.CIN_PLAN_MEETING, K.TRANSFER_IN_MEETING) is None:
        # After an assessment that escalated: no CP plan, so the decision is a CIN plan.
        open_plan_decision_clocks(d)
