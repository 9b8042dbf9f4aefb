"""CIN plan reviews (Redbridge 003 s5-s6): each answers the review due and starts the next.

- The first review is due 6 weeks from the plan start, each later one from the previous review.
- Every review is a meeting of the planning and review group: plan copies are owed within 10
  working days of it (003 L122), not just after the first meeting.
- "If a Plan has been in place for 12 months the next review must be chaired by a Team Manager or
  Senior Practitioner" (003 L131) is a rule about the chair, not a date: nothing is due and
  nothing escalates because the plan reached 12 months. The first review held after that day
  records its chair; any other chair (or none recorded) is a finding for the team manager, which
  lasts until the next review.
- Reviews stay legal while the plan is in force: waiting on the step-down panel, the final meeting
  or an ICPC, a review continues or changes the plan (issue 8: no clock that no event can meet).
- Outcomes in the plan stage: step_down_panel asks the panel; escalate waits for the strategy
  discussion (the plan stays in force until the ICPC decides); close ends the case with RC7. Where
  the council's document says a plan ends only at a review (Redbridge 003 L146, policy `rules`),
  this is the only way it ends apart from RC1-RC6 (closure.py).
"""

from __future__ import annotations

from dataclasses import replace

from models.lifecycle.codes import CLOSED_SERVICES_CEASED
from models.lifecycle.draft import Draft
from models.lifecycle.events import ReviewHeld
from models.lifecycle.plan import (
    check_review_every,
    open_next_visit,
    open_plan_copies,
    open_review,
    visits_unset,
)
from models.lifecycle.protection import escalate
from models.lifecycle.state import Stage
from models.policy.timescales import TimescaleKind as K

_CHAIRS = ("team_manager", "senior_practitioner")


def review_held(d: Draft, e: ReviewHeld) -> None:
    plan_start = d.state.plan_start
    if plan_start is None or (
        d.state.stage is Stage.CHILD_PROTECTION and d.state.after_icpc is not Stage.CIN_PLAN
    ):
        d.refuse("expected a CIN plan in force (cin_meeting_held first)")
    floor = max(plan_start, d.state.last_review or plan_start)
    if e.on < floor:
        d.refuse(f"expected a review on or after {floor} (the plan start or the last review)")
    if d.state.stage is not Stage.CIN_PLAN and e.outcome not in ("continue", "change"):
        d.refuse(
            f"the case is at {d.state.stage.value}: a review here can continue or change the plan"
        )

    due = d.find(K.FIRST_REVIEW, K.REVIEW)
    if due is None:
        d.note("no review was due; counted as a review all the same")
    else:
        d.answer(due)
    _check_chair(d, e)

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
    check_review_every(d, e.review_every)
    d.state = replace(
        d.state,
        visits_unset_since=visits_unset(d, e.visit_frequency, d.state.visits_unset_since),
        review_every=e.review_every or d.state.review_every,
    )
    open_plan_copies(d)
    open_review(d, K.REVIEW, e.on, counted_from="previous review")
    if e.outcome == "step_down_panel":
        d.move_to(Stage.STEP_DOWN_PANEL)
        d.open(K.STEP_DOWN_PANEL, e.on)
    elif e.outcome == "escalate":
        escalate(d, back_to=Stage.CIN_PLAN)


def _check_chair(d: Draft, e: ReviewHeld) -> None:
    """003 L131: the first review on or after the plan's 12-month day is chaired by a TM or SP."""
    rule_from, last = d.state.chair_rule_from, d.state.last_review
    first_after = rule_from is not None and e.on >= rule_from and (last is None or last < rule_from)
    finding = None
    if first_after and e.chair not in _CHAIRS:
        finding = e.on
        chair = e.chair or "not recorded"
        d.note(
            f"the plan was 12 months old on {rule_from}: this review's chair ({chair}) is not a "
            "team manager or senior practitioner (003 L131)"
        )
    d.state = replace(d.state, chair_finding=finding)


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
