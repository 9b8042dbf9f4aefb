"""One synthetic case, event by event, each checked against the real lifecycle as it is written.

The story reads the case's own open deadlines (counted by the authority's real policy) to date
the work that answers them: mostly on or before the due date, sometimes late (`caseload_mix.LATE`).
Dates never go backwards within a case, so the lifecycle has no reason to refuse; if it ever does,
the refused event and everything after it are dropped, and the case stays at its last good state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from random import Random
from typing import Any

from calendars import WorkingCalendar
from demo import caseload_mix as mix
from models.lifecycle import CaseState, Stage, apply, initial_state, parse_event
from models.policy.book import AuthorityPolicy
from models.policy.timescales import TimescaleKind as K

MAX_EVENTS = 400  # a guard: no realistic case within the horizon comes near it


@dataclass(frozen=True)
class Episode:
    events: tuple[dict[str, Any], ...]  # as `parse_event` accepts them, in order
    state: CaseState  # after the last event
    primary_need: str | None
    refused: int  # 1 if the lifecycle refused an event (the story ended there), else 0


class _Stop(Exception):
    """The story ends here: past the horizon, or the lifecycle refused."""


def simulate_episode(
    rng: Random, timeline: AuthorityPolicy, *, opens_on: date, horizon: date, transfer_in: bool
) -> Episode:
    try:
        calendar = timeline.on(opens_on).calendar
    except ValueError:  # no policy version in force on the opening day: nothing can be accepted
        return Episode((), initial_state(), None, 1)
    story = _Story(rng, timeline, horizon, calendar)
    try:
        story.open(opens_on, transfer_in)
        while story.state.is_open and len(story.events) < MAX_EVENTS:
            story.step()
    except _Stop:
        pass
    return Episode(tuple(story.events), story.state, story.need, story.refused)


class _Story:
    def __init__(
        self, rng: Random, timeline: AuthorityPolicy, horizon: date, calendar: WorkingCalendar
    ) -> None:
        self.rng = rng
        self.timeline = timeline
        self.horizon = horizon
        self.calendar = calendar  # the opening day's: for dating work on working days only
        self.state = initial_state()
        self.events: list[dict[str, Any]] = []
        self.refused = 0
        self.day = date.min
        self.need: str | None = None
        self.planned: dict[str, date] = {}  # deadline key -> the day its answer is recorded
        self.home_visit = self.s47_in_assessment = False
        self.plan_end = self.cp_end = self.next_cp_visit = date.max
        self.distribution: date | None = None
        self.shock: tuple[date, str] | None = None

    # -- writing events ---------------------------------------------------------------------

    def emit(self, kind: str, on: date, **fields: Any) -> None:
        if on > self.horizon:
            raise _Stop
        record = {"type": kind, "on": on.isoformat(), **fields}
        try:
            self.state = apply(self.state, parse_event(record), self.timeline).state
        except ValueError:
            self.refused = 1
            raise _Stop from None
        self.events.append(record)
        self.day = on

    def working(self, day: date, *, back: bool) -> date:
        """The nearest working day, earlier if `back` allows, never before the last event."""
        day = max(day, self.day)
        if day > self.horizon:
            return day  # never recorded; and may lie past the calendar's coverage
        is_working = self.calendar.is_working_day
        if back:
            earlier = day
            while not is_working(earlier) and earlier > self.day:
                earlier -= timedelta(days=1)
            if is_working(earlier):
                return earlier
        while not is_working(day):
            day += timedelta(days=1)
        return day

    def around(self, key: str, due: date, late: str, *, early: int) -> date:
        """The day the work answering deadline `key` is done: by `due`, or late (kept per key)."""
        if key not in self.planned:
            rng = self.rng
            if rng.random() < mix.LATE[late]:
                band = mix.LATE_DAYS["short" if rng.random() < 0.6 else "long"]
                self.planned[key] = self.working(due + timedelta(rng.randint(*band)), back=False)
            else:
                day = max(self.day, due - timedelta(rng.randint(0, max(early, 0))))
                self.planned[key] = self.working(day, back=True)
        return max(self.planned[key], self.day)

    def due_of(self, *kinds: K) -> tuple[str, date] | None:
        found = next((d for d in self.state.deadlines if d.kind in kinds), None)
        return None if found is None else (found.key, found.due)

    def later(self, low: int, high: int) -> date:
        return self.working(self.day + timedelta(self.rng.randint(low, high)), back=False)

    # -- the stages -------------------------------------------------------------------------

    def open(self, on: date, transfer_in: bool) -> None:
        self.need = mix.pick(self.rng, mix.PRIMARY_NEED)
        if transfer_in:
            self.emit("transfer_in", on, primary_need=self.need)
        else:
            source = mix.pick(self.rng, mix.REFERRAL_SOURCE)
            self.emit("referral_received", on, source=source, primary_need=self.need)

    def step(self) -> None:
        handlers: dict[Stage, Callable[[], None]] = {
            Stage.REFERRAL: self.decision,
            Stage.ASSESSMENT: self.assessment,
            Stage.CHILD_PROTECTION: self.icpc,
            Stage.CP_PLAN: self.cp_plan,
            Stage.PLAN_PENDING: self.cin_meeting,
            Stage.DECISION: self.decide,
        }
        if self.state.assessment_open and self.state.stage is Stage.CP_PLAN:
            self.assessment_beside()
            return
        handlers.get(self.state.stage, self.plan)()

    def assessment_beside(self) -> None:
        """The assessment goes on through a CP plan and completes beside it (issue 19)."""
        key, due = self.due_of(K.ASSESSMENT_COMPLETED) or ("assessment", self.later(5, 20))
        on = self.around(key, due, "assessment", early=(due - self.day).days - 3)
        self.emit("assessment_completed", on, outcome="escalate")

    def decide(self) -> None:
        """No plan after enquiries: the council decides (001 L353-355); mostly a CIN plan."""
        if self.rng.random() < mix.DECISION_CIN_PLAN:
            self.cin_meeting()
        else:
            self.emit("case_closed", self.later(2, 10), reason="RC7")

    def decision(self) -> None:
        key, due = self.due_of(K.REFERRAL_DECISION) or ("decision", self.later(0, 1))
        on = self.around(key, due, "decision", early=(due - self.day).days)
        self.emit("referral_decision", on, outcome=mix.pick(self.rng, mix.REFERRAL_DECISION))

    def assessment(self) -> None:
        rng = self.rng
        if self.state.assessment_started is None and rng.random() < mix.ASSESSMENT_STARTED_RECORDED:
            self.emit("assessment_started", self.later(0, 4))
        if not self.home_visit and rng.random() < mix.HOME_VISIT_IN_ASSESSMENT:
            self.emit("visit_recorded", self.later(1, 10))
        self.home_visit = True
        if not self.s47_in_assessment and rng.random() < mix.S47_DURING_ASSESSMENT:
            self.s47_in_assessment = True
            self.emit("s47_started", self.later(2, 15))
            return
        key, due = self.due_of(K.ASSESSMENT_COMPLETED) or ("assessment", self.later(20, 40))
        on = self.around(key, due, "assessment", early=(due - self.day).days - 3)
        self.emit("assessment_completed", on, outcome=mix.pick(rng, mix.ASSESSMENT_OUTCOME))

    def icpc(self) -> None:
        if self.state.awaiting_strategy:
            # an escalation: the strategy discussion starts the ICPC's clock (Working Together)
            self.emit("s47_started", self.later(0, 3))
            return
        key, due = self.due_of(K.ICPC) or ("icpc", self.later(10, 20))
        on = self.around(key, due, "icpc", early=8)
        plan = self.rng.random() < mix.ICPC_CP_PLAN
        self.emit("icpc_held", on, outcome="cp_plan" if plan else "no_plan")
        if plan:
            self.cp_end = on + timedelta(self.rng.randint(*mix.CP_PLAN_DAYS))
            self.next_cp_visit = self.later(*mix.CP_VISIT_DAYS)

    def cp_plan(self) -> None:
        core_group = self.due_of(K.FIRST_CORE_GROUP)
        if core_group is not None:  # Working Together: within 10 WD of the ICPC
            self.emit("core_group_held", self.around(*core_group, "meeting", early=5))
            return
        review = self.due_of(K.FIRST_CP_REVIEW, K.CP_REVIEW)
        review_on = None if review is None else self.around(*review, "icpc", early=10)
        if review_on is not None and review_on < min(self.next_cp_visit, self.cp_end):
            self.emit("cp_review_held", review_on, outcome="continue")
            return
        if self.next_cp_visit < self.cp_end:
            self.emit("visit_recorded", max(self.next_cp_visit, self.day))
            self.next_cp_visit = self.later(*mix.CP_VISIT_DAYS)
            return
        end = mix.pick(self.rng, mix.CP_PLAN_END)
        on = self.working(self.cp_end, back=False)
        if end == "transfer_out":
            self.emit("transfer_out", on)
        elif end == "RC7":
            # a CP plan ends at a review conference that decides so
            self.emit("cp_review_held", on, outcome="close")
        else:
            self.emit("case_closed", on, reason=end)

    def cin_meeting(self) -> None:
        rng = self.rng
        key, due = self.due_of(K.CIN_PLAN_MEETING, K.TRANSFER_IN_MEETING) or (
            "meeting",
            self.later(5, 15),
        )
        on = self.around(key, due, "meeting", early=(due - self.day).days - 2)
        fields: dict[str, Any] = {}
        if rng.random() < mix.PLAN_SETS_VISIT_FREQUENCY:
            fields["visit_frequency"] = self.visit_frequency()
        self.emit("cin_meeting_held", on, **fields)
        self.plan_end = on + timedelta(mix.pick_days(rng, mix.PLAN_DAYS))
        self.distribution = None
        copies = self.due_of(K.PLAN_DISTRIBUTED)
        if copies is not None and rng.random() >= mix.PLAN_NEVER_DISTRIBUTED:
            self.distribution = self.around(*copies, "distribution", early=(copies[1] - on).days)
        self.shock = None
        for kind, chance in (
            ("transfer_out", mix.PLAN_TRANSFER_OUT),
            ("s47_started", mix.PLAN_S47),
            ("case_closed", mix.PLAN_OTHER_CLOSURE),
        ):
            if rng.random() < chance:
                span = max((self.plan_end - on).days, 21)
                self.shock = (on + timedelta(rng.randint(20, span)), kind)
                break

    def visit_frequency(self) -> dict[str, Any]:
        amount, unit = mix.pick(self.rng, mix.VISIT_FREQUENCY)
        return {"amount": amount, "unit": unit}

    # -- a plan in force: visits, reviews, the panel and the final meeting, earliest first ----

    def plan(self) -> None:
        options: list[tuple[date, Callable[[date], None]]] = []
        visit = self.due_of(K.VISIT)
        if visit is not None:
            options.append((self.around(*visit, "visit", early=7), self.visit))
        if self.distribution is not None:
            options.append((max(self.distribution, self.day), self.distribute))
        stage = self.state.stage
        if stage is Stage.CIN_PLAN:
            fallback = (f"review-{self.state.reviews_held}", self.later(60, 90))
            review = self.due_of(K.FIRST_REVIEW, K.REVIEW) or fallback
            options.append((self.around(*review, "review", early=10), self.review))
            if self.shock is not None:
                options.append((max(self.shock[0], self.day), self.shock_happens))
        elif stage is Stage.STEP_DOWN_PANEL:
            panel = self.due_of(K.STEP_DOWN_PANEL) or (f"panel-{self.day}", self.later(5, 15))
            options.append((self.around(*panel, "panel", early=8), self.panel))
        else:
            options.append(
                (self.around("final", self.later(5, 20), "meeting", early=0), self.final)
            )
        on, action = min(options, key=lambda option: option[0])
        action(on)

    def visit(self, on: date) -> None:
        self.emit("visit_recorded", on)

    def distribute(self, on: date) -> None:
        self.distribution = None
        self.emit("plan_distributed", on)

    def review(self, on: date) -> None:
        rng = self.rng
        fields: dict[str, Any] = {}
        rule_from = self.state.chair_rule_from
        if rule_from is not None and on >= rule_from and rng.random() < mix.TEAM_MANAGER_CHAIRS:
            fields["chair"] = "team_manager"
        else:
            fields["chair"] = "social_worker"
        if on >= self.plan_end:
            outcome = mix.pick(rng, mix.PLAN_END)
        elif rng.random() < mix.CHANGE_OF_PLAN:
            outcome = "change"
            if rng.random() < mix.CHANGE_SETS_VISITS:
                fields["visit_frequency"] = self.visit_frequency()
        else:
            outcome = "continue"
        self.emit("review_held", on, outcome=outcome, **fields)
        copies = self.due_of(K.PLAN_DISTRIBUTED)  # 003 L122: copies after every plan meeting
        if copies is not None and rng.random() >= mix.PLAN_NEVER_DISTRIBUTED:
            self.distribution = self.around(*copies, "distribution", early=(copies[1] - on).days)

    def shock_happens(self, on: date) -> None:
        assert self.shock is not None
        kind = self.shock[1]
        self.shock = None
        if kind == "case_closed":
            self.emit(kind, on, reason=mix.pick(self.rng, mix.OTHER_CLOSURE_REASON))
        else:
            self.emit(kind, on)

    def panel(self, on: date) -> None:
        accepted = self.rng.random() < mix.PANEL_ACCEPTS
        self.emit("step_down_panel", on, outcome="accepted" if accepted else "rejected")
        if not accepted:
            self.plan_end = on + timedelta(self.rng.randint(*mix.PANEL_REJECTED_EXTRA_DAYS))

    def final(self, on: date) -> None:
        self.emit("final_meeting_held", on)
