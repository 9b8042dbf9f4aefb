"""The CIN plan (Redbridge 003 s3-s4, s8, s10): the CIN meeting, plan copies, visits, step-down.

Clock starts: plan copies from each meeting of the planning and review group (003 L122: the CIN
meeting and every review); the first review from the plan start (the meeting that agreed the plan);
each visit from the previous visit, or the plan start, at the frequency the plan sets. With no
frequency there is no visit clock (003 L202: "no specific minimum requirements for visiting"),
unless the authority's own document sets a default. The 12-month chair rule (003 L131) is not a
clock: the plan start fixes the day from which the next review must be chaired by a team manager
or senior practitioner (`reviews.py`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from models.lifecycle.codes import CLOSED_SERVICES_CEASED
from models.lifecycle.draft import Draft
from models.lifecycle.events import (
    CinMeetingHeld,
    ConsentWithdrawn,
    FinalMeetingHeld,
    PlanDistributed,
    StepDownPanel,
    VisitFrequency,
    VisitRecorded,
)
from models.lifecycle.state import PLAN_STAGES, OpenDeadline, Stage
from models.policy.timescales import PracticeRule
from models.policy.timescales import TimescaleKind as K

# The clocks a CIN meeting answers: the meeting itself (after an assessment or a transfer in),
# "plan in place" and Warwickshire's "CIN support initiated" (support starts at the meeting).
_ANSWERED_BY_CIN_MEETING = (
    K.CIN_PLAN_MEETING,
    K.TRANSFER_IN_MEETING,
    K.PLAN_IN_PLACE,
    K.CIN_SUPPORT_INITIATED,
)


def cin_meeting_held(d: Draft, e: CinMeetingHeld) -> None:
    if d.state.stage is Stage.CHILD_PROTECTION and d.state.after_icpc is not Stage.PLAN_PENDING:
        d.refuse("expected a CIN plan decided before s47 enquiries began")
    if d.state.stage is Stage.DECISION:
        d.note("the council decided on a CIN plan after enquiries ended without one")
    for kind in _ANSWERED_BY_CIN_MEETING:
        deadline = d.find(kind)
        if deadline is not None:
            d.answer(deadline)
    check_review_every(d, e.review_every)
    d.state = replace(
        d.state,
        plan_start=e.on,
        visit_frequency=e.visit_frequency,
        visits_unset_since=visits_unset(d, e.visit_frequency, None),
        review_every=e.review_every,
        last_review=None,
        chair_finding=None,
        chair_rule_from=_chair_rule_from(d, e.on),
    )
    if d.state.stage is Stage.CHILD_PROTECTION:
        d.state = replace(d.state, after_icpc=Stage.CIN_PLAN)  # the ICPC still decides
    else:
        d.move_to(Stage.CIN_PLAN)
    open_plan_copies(d)
    if (
        open_review(d, K.FIRST_REVIEW, e.on, counted_from="plan start") is None
        and open_review(d, K.REVIEW, e.on, counted_from="plan start") is not None
    ):
        d.note("no first-review timescale: the first review is counted at the review cycle")
    open_next_visit(d, e.on, counted_from="plan start")


def visits_unset(d: Draft, frequency: VisitFrequency | None, since: date | None) -> date | None:
    """003 L202 and the like: a plan states how often the child is seen. Where the council's
    document says it must, a plan without a frequency is refused; where it says it should, the
    day since which none is set is kept (a finding for the team manager, drift.py)."""
    if frequency is not None or d.state.visit_frequency is not None:
        return None
    view = d.policy_on(d.on)
    must = view.rule(PracticeRule.PLAN_MUST_SET_VISITS)
    if must is not None:
        d.refuse(f"visit_frequency: expected how often the child is seen ({must}); got none")
    should = view.rule(PracticeRule.PLAN_SHOULD_SET_VISITS)
    if should is None:
        return None
    d.note(f"the plan sets no visiting frequency: flagged for the team manager ({should})")
    return since or d.on


def check_review_every(d: Draft, every: VisitFrequency | None) -> None:
    """003 L129: a plan may be reviewed more often than the council's minimum, never less."""
    if every is None:
        return
    view = d.policy_on(d.on)
    if not view.has(K.REVIEW):
        return
    try:
        most = view.count(K.REVIEW, d.on).due
        mine = view.count_custom(every.amount, every.unit, d.on, "this meeting").due
    except ValueError as error:  # the calendar's OutOfCoverageError
        d.refuse(f"cannot count review_every from {d.on}: {error}")
    if mine > most:
        d.refuse(
            f"review_every: expected at most the council's review interval ({view.authority}: "
            f"a review from {d.on} due by {most}); got {every.describe()} (due {mine})"
        )


def open_review(d: Draft, kind: K, start: date, *, counted_from: str) -> OpenDeadline | None:
    """The next review: at the plan's own interval where it sets one (never later than the
    council's own clock of that kind), else at the council's."""
    every = d.state.review_every
    if every is None:
        return d.open(kind, start)
    view = d.policy_on(start)
    if view.has(kind):
        try:
            most = view.count(kind, start).due
            mine = view.count_custom(every.amount, every.unit, start, counted_from).due
        except ValueError as error:  # the calendar's OutOfCoverageError
            d.refuse(f"cannot count {kind.value} from {start}: {error}")
        if mine > most:
            d.note(f"the plan's interval ({every.describe()}) is later than {kind.value}'s")
            return d.open(kind, start)
    return d.open(kind, start, frequency=every, counted_from=counted_from)


def _chair_rule_from(d: Draft, plan_start: date) -> date | None:
    view = d.policy_on(plan_start)
    if not view.has(K.TEAM_MANAGER_REVIEW):
        return None
    return view.count(K.TEAM_MANAGER_REVIEW, plan_start).due


def open_plan_copies(d: Draft) -> None:
    """003 L122: copies within 10 WD of each meeting; a newer meeting's copies supersede. Copies
    of the earlier meeting never sent by their due date stay missed (`unmet`, issue 19 point 5)."""
    earlier = d.find(K.PLAN_DISTRIBUTED)
    if earlier is not None:
        d.cancel(earlier.key)
        if d.on > earlier.due:
            d.note(f"{earlier.key} was due {earlier.due} and never sent: missed")
        else:
            d.note(f"{earlier.key} superseded by the copies of this meeting")
    d.open(K.PLAN_DISTRIBUTED, d.on)


def open_plan_decision_clocks(d: Draft) -> None:
    """A CIN plan was decided today: the CIN meeting is owed, and the plan by 3 months open."""
    referral = d.state.referral_date
    assert referral is not None
    d.open(K.CIN_PLAN_MEETING, d.on)
    if d.find(K.PLAN_IN_PLACE) is None:
        d.open(K.PLAN_IN_PLACE, referral)


def plan_in_force(stage: Stage, after_icpc: Stage | None) -> bool:
    return stage in PLAN_STAGES or (
        stage is Stage.CHILD_PROTECTION and after_icpc is Stage.CIN_PLAN
    )


def plan_distributed(d: Draft, e: PlanDistributed) -> None:
    plan_start = d.state.plan_start
    if plan_start is None or not plan_in_force(d.state.stage, d.state.after_icpc):
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
    if d.state.assessment_open and d.state.initial_home_visit is None:
        view = d.policy_on(e.on)
        if view.has(K.CIN_SUPPORT_INITIATED):
            # Warwickshire 002 s4.4.2 (L166): CIN support within 20 WD "from the initial home
            # visit", but only "following completion of the single assessment, if the threshold
            # is agreed and the family consent": the day is kept, the clock opens then.
            d.state = replace(d.state, initial_home_visit=e.on)
            d.note("initial home visit: CIN support will count from it if a plan is agreed")
            return
    d.note("no visit clock was running; recorded for the timeline")


def open_next_visit(d: Draft, start: date, *, counted_from: str) -> None:
    """The next visit at the plan's frequency; with none, only an authority's own default."""
    frequency = d.state.visit_frequency
    if frequency is None and not d.policy_on(start).has(K.VISIT):
        d.note("no visit clock: the plan sets no visiting frequency (003 L202: no minimum)")
        return
    d.open(K.VISIT, start, frequency=frequency, counted_from=counted_from)


def consent_withdrawn(d: Draft, e: ConsentWithdrawn) -> None:
    """002 L136: support is voluntary; the plan's clocks stop and the case closes or steps down."""
    d.cancel_all(keep=(K.ASSESSMENT_COMPLETED,))
    d.move_to(Stage.NO_CONSENT)
    d.state = replace(d.state, consent_refused=e.on, visits_unset_since=None)
    d.note("the family withdrew consent: the plan's clocks stop")
    await_decision_without_consent(d)


def await_decision_without_consent(d: Draft) -> None:
    """Issue 19 point 4e: without consent there is no plan (002 L136), but the case is still
    open: the council closes it, steps down or decides again. No document sets when; the engine
    default (`no_consent_decision`, engine-defaults.yaml, with its reason) gives it a clock, met
    by `case_closed`, `transfer_out` or a strategy discussion."""
    if d.find(K.NO_CONSENT_DECISION) is None:
        d.open(K.NO_CONSENT_DECISION, d.on)


def answer_decision_without_consent(d: Draft) -> None:
    owed = d.find(K.NO_CONSENT_DECISION)
    if owed is not None:
        d.answer(owed)


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
    # The census code for a plan's services ceasing; RC9 means closed after an assessment.
    d.close(CLOSED_SERVICES_CEASED)
