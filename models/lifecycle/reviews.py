"""CIN plan reviews (Redbridge 003 s5-s6): each answers the review due and starts the next.

- The first review is due 6 weeks from the plan start, each later one from the previous review.
- "If a Plan has been in place for 12 months the next review must be chaired by a Team Manager":
  the team-manager clock falls due 12 months from the plan start and is answered by a review
  chaired by a team manager held on or after that day. It is met if that review is the first
  review held since the plan reached 12 months, met late if an earlier one was not so chaired.
  A team-manager-chaired review before 12 months does not answer it.
- Outcomes: continue / change keep the plan; step_down_panel asks the panel (the plan and its
  clocks run on until the final meeting); escalate starts s47 enquiries (the plan stays in force
  until the ICPC decides); close ends the case at once with RC7 (003 s6: a plan ends only at a
  review that decided its objectives are met; other reasons are recorded with case_closed).
"""

from __future__ import annotations

from dataclasses import replace

from models.lifecycle.codes import CLOSED_SERVICES_CEASED
from models.lifecycle.draft import Draft
from models.lifecycle.events import ReviewHeld
from models.lifecycle.plan import open_next_visit
from models.lifecycle.state import Stage
from models.timescales import TimescaleKind as K


def review_held(d: Draft, e: ReviewHeld) -> None:
    plan_start = d.state.plan_start
    assert plan_start is not None  # reviews are accepted only while a plan is in force
    floor = max(plan_start, d.state.last_review or plan_start)
    if e.on < floor:
        d.refuse(f"expected a review on or after {floor} (the plan start or the last review)")

    due = d.find(K.FIRST_REVIEW, K.REVIEW)
    if due is None:
        d.note("no review was due; counted as a review all the same")
    else:
        d.answer(due)
    _team_manager_review(d, e)

    continues = d.state.consecutive_continues + 1 if e.outcome == "continue" else 0
    d.state = replace(
        d.state,
        last_review=e.on,
        reviews_held=d.state.reviews_held + 1,
        consecutive_continues=continues,
    )
    if e.outcome == "close":
        d.close(CLOSED_SERVICES_CEASED)
        return
    if e.visit_frequency is not None and e.visit_frequency != d.state.visit_frequency:
        _change_visit_frequency(d, e)
    d.open(K.REVIEW, e.on)
    if e.outcome == "step_down_panel":
        d.move_to(Stage.STEP_DOWN_PANEL)
        d.open(K.STEP_DOWN_PANEL, e.on)
    elif e.outcome == "escalate":
        d.move_to(Stage.CHILD_PROTECTION)
        d.state = replace(d.state, s47_started=e.on, after_icpc=Stage.CIN_PLAN)
        d.open(K.ICPC, e.on)


def _team_manager_review(d: Draft, e: ReviewHeld) -> None:
    tm = d.find(K.TEAM_MANAGER_REVIEW)
    if tm is None:
        return
    if e.on < tm.due:
        if e.chaired_by_team_manager:
            d.note(f"chaired by a team manager before 12 months: {tm.key} is still owed")
        return
    if e.chaired_by_team_manager:
        d.answer(tm, late=d.state.tm_review_passed_over)
    else:
        d.state = replace(d.state, tm_review_passed_over=True)
        d.note(f"the plan is 12 months old: {tm.key} needs a review chaired by a team manager")


def _change_visit_frequency(d: Draft, e: ReviewHeld) -> None:
    """The new frequency recounts the visit owed from its own start (the last visit or plan)."""
    d.state = replace(d.state, visit_frequency=e.visit_frequency)
    owed = d.find(K.VISIT)
    plan_start, last_visit = d.state.plan_start, d.state.last_visit
    assert plan_start is not None
    if owed is not None:
        start = owed.start
        d.cancel(owed.key)
    else:
        start = plan_start if last_visit is None else max(plan_start, last_visit)
    d.note("the review changed the visiting frequency: the visit owed is recounted")
    counted_from = "previous visit" if start == last_visit else "plan start"
    open_next_visit(d, start, counted_from=counted_from)
