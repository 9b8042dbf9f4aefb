"""Random case histories (dates never go backwards) against the naive reference model.

Invariants after every step: the stage, the open clocks and the chair finding agree with the
reference; a closed case has no open clocks; every clock is due on or after its start; at most
one clock of a kind runs at a time; the deadline changes turn the old open set into the new one; a
refused event changes nothing; rebuilding from the accepted events equals the live state; the
state round-trips through JSON; and (issue 8, point 5) every open deadline has at least one event,
legal now, that meets it: no clock runs that nothing could answer.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import hypothesis
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from calendars.types import Unit
from models.lifecycle import (
    CLOSURE_REASONS,
    EVENT_TYPES,
    REFERRAL_SOURCES,
    Event,
    EventRefused,
    Stage,
    Transition,
    VisitFrequency,
    apply,
    initial_state,
    parse_event,
    rebuild,
    state_from_dict,
    state_to_dict,
)
from models.policy.timescales import TimescaleKind as K
from tests.models.lifecycle.fakes import REDBRIDGE, WARWICKSHIRE, timeline
from tests.models.lifecycle.reference import Reference

# Outcomes are listed with repeats to weight the draw towards longer histories.
CHOICES: dict[str, dict[str, list[Any]]] = {
    "referral_received": {"source": list(REFERRAL_SOURCES)},
    "referral_decision": {
        "outcome": ["nfa", "early_help", "assessment", "assessment", "strategy_discussion"]
    },
    "assessment_completed": {
        "outcome": ["nfa", "step_down", "cin_plan", "cin_plan", "escalate"],
        "consent": [True, True, True, False],
    },
    "review_held": {
        "outcome": ["continue"] * 3 + ["change"] * 2 + ["step_down_panel", "escalate", "close"],
        "chair": [None, "team_manager", "senior_practitioner", "social_worker", "other"],
    },
    "step_down_panel": {"outcome": ["accepted", "rejected"]},
    "icpc_held": {"outcome": ["cp_plan", "no_plan"]},
    "s47_concluded": {"outcome": ["icpc_required", "icpc_not_required"]},
    "strategy_discussion_held": {"outcome": ["s47", "no_s47"]},
    "cp_review_held": {"outcome": ["continue", "continue", "cin_plan", "close"]},
    "case_closed": {"reason": list(CLOSURE_REASONS)},
}
# What a practitioner would plausibly record next, by the reference's stage.
LIKELY: dict[str, list[str]] = {
    "new": ["referral_received", "referral_received", "transfer_in"],
    "referral": ["referral_decision"],
    "assessment": ["assessment_started", "assessment_completed", "visit_recorded"] * 2
    + ["s47_started", "support_started"],
    "plan_pending": ["cin_meeting_held", "cin_meeting_held", "visit_recorded", "s47_started"]
    + ["support_started", "consent_withdrawn"],
    "cin_plan": ["review_held"] * 4
    + ["visit_recorded"] * 3
    + ["plan_distributed", "s47_started", "consent_withdrawn"],
    "step_down_panel": ["step_down_panel", "visit_recorded", "s47_started", "review_held"],
    "final_meeting": ["final_meeting_held", "visit_recorded", "s47_started", "review_held"],
    "child_protection": ["s47_started", "strategy_discussion_held", "icpc_held", "icpc_held"]
    + ["s47_concluded"]
    + ["plan_distributed", "visit_recorded", "review_held", "assessment_completed"]
    + ["cin_meeting_held", "support_started"],
    "cp_plan": ["visit_recorded", "cp_review_held", "cp_review_held", "assessment_completed"]
    + ["core_group_held"],
    "no_consent": ["case_closed", "s47_started", "visit_recorded"],
    "decision": ["cin_meeting_held", "case_closed", "strategy_discussion_held", "visit_recorded"],
    "closed": list(EVENT_TYPES),
}
# The start of a usual history: the machine begins after the first 0-5 of these.
HEAD_START: list[dict[str, Any]] = [
    {"type": "referral_received", "source": "2A"},
    {"type": "referral_decision", "outcome": "assessment"},
    {"type": "assessment_completed", "outcome": "cin_plan"},
    {"type": "cin_meeting_held"},
    {"type": "review_held", "outcome": "step_down_panel"},
]
NOT_CLOSING = [t for t in EVENT_TYPES if t not in ("transfer_out", "case_closed")]
frequencies = st.none() | st.builds(
    VisitFrequency, amount=st.integers(1, 6), unit=st.sampled_from(list(Unit))
)


def _candidates() -> list[dict[str, Any]]:
    """One record per event type and outcome (chairs and codes left at their first choice)."""
    records: list[dict[str, Any]] = []
    for event_type in EVENT_TYPES:
        choices = CHOICES.get(event_type, {})
        outcomes = dict.fromkeys(choices.get("outcome", [None]))
        for outcome in outcomes:
            record: dict[str, Any] = {"type": event_type}
            for name, options in choices.items():
                record[name] = outcome if name == "outcome" else options[0]
            records.append(record)
    return records


def record_of(event_type: str, data: st.DataObject) -> dict[str, Any]:
    """A JSON record of `event_type` with every choice drawn (what `parse_event` reads)."""
    record: dict[str, Any] = {"type": event_type}
    for name, options in CHOICES.get(event_type, {}).items():
        record[name] = data.draw(st.sampled_from(options), label=name)
    if event_type in ("cin_meeting_held", "review_held"):
        frequency = data.draw(frequencies, label="visit_frequency")
        record["visit_frequency"] = None if frequency is None else frequency.model_dump(mode="json")
    return record


CANDIDATES = _candidates()


class LifecycleMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.state = initial_state()
        self.events: list[Event] = []
        self.ever_opened: set[str] = set()

    @initialize(
        cin_support=st.booleans(),
        strategy_clock=st.booleans(),
        start=st.dates(date(2019, 1, 1), date(2030, 12, 31)),
        head_start=st.integers(0, len(HEAD_START)),
    )
    def choose_policy(
        self, cin_support: bool, strategy_clock: bool, start: date, head_start: int
    ) -> None:
        """The policy, the first day, and (to reach deep stages often) a plausible opening."""
        amounts = dict(REDBRIDGE)
        if cin_support:
            amounts[K.CIN_SUPPORT_INITIATED] = WARWICKSHIRE[K.CIN_SUPPORT_INITIATED]
        if strategy_clock:  # issue 19: the engine default and the statutory core group
            amounts[K.STRATEGY_DISCUSSION] = (3, Unit.WORKING_DAYS)
            amounts[K.FIRST_CORE_GROUP] = (10, Unit.WORKING_DAYS)
        self.policy = timeline(amounts)
        self.reference = Reference(cin_support=cin_support, strategy_clock=strategy_clock)
        self.today = start
        for record in HEAD_START[:head_start]:
            self.record(parse_event({**record, "on": self.day(7).isoformat()}))

    def day(self, gap: int) -> date:
        return self.today + timedelta(days=gap)

    def record(self, event: Event) -> None:
        expected = self.reference.step(event)
        before = state_to_dict(self.state)
        try:
            transition = apply(self.state, event, self.policy)
        except EventRefused as refusal:
            assert expected is None, f"refused, the reference accepts: {refusal.reason}"
            assert state_to_dict(self.state) == before
            return
        assert expected is not None, f"{event!r} accepted at {self.state.stage.value}"
        self.check_changes(event, transition)
        self.state, self.reference, self.today = transition.state, expected, event.on
        self.events.append(event)
        hypothesis.event(f"reached {self.state.stage.value}")
        for change in transition.changes:
            hypothesis.event(f"{change.kind.value} {change.action.value}")

    def check_changes(self, event: Event, transition: Transition) -> None:
        before = {d.key for d in self.state.deadlines}
        after = {d.key for d in transition.state.deadlines}
        opened = {c.key for c in transition.changes if c.action.value == "open"}
        ended = [c for c in transition.changes if c.action.value != "open"]
        assert {c.key for c in ended} <= before
        assert not opened & self.ever_opened, "a key is never reused"
        assert (before - {c.key for c in ended}) | opened == after
        assert all(c.on == event.on for c in transition.changes)
        for change in ended:
            if change.action.value in ("met", "met_late"):
                assert (change.action.value == "met") is (event.on <= change.due)
        self.ever_opened |= opened

    # --- rules -----------------------------------------------------------------------------

    @rule(data=st.data())
    def something_likely(self, data: st.DataObject) -> None:
        """An event the stage expects (the reference still decides if it must be accepted)."""
        closing = (
            self.reference.stage not in ("new", "closed")
            and data.draw(st.integers(0, 11), label="roll") == 0
        )
        if closing:
            event_type = data.draw(st.sampled_from(["transfer_out", "case_closed"]), label="type")
        else:
            event_type = data.draw(st.sampled_from(LIKELY[self.reference.stage]), label="type")
        self.record_drawn(event_type, data)

    @rule(data=st.data(), roll=st.integers(0, 2))
    def anything(self, data: st.DataObject, roll: int) -> None:
        """Any event in any stage: the machine and the reference must agree whether to refuse.

        Closures are left to `something_likely` while the case is open (they are always
        accepted there, and would end most histories early).
        """
        if roll:  # one step in three, so that histories also get long
            return
        types = EVENT_TYPES if self.reference.stage in ("new", "closed") else NOT_CLOSING
        self.record_drawn(data.draw(st.sampled_from(types), label="type"), data)

    def record_drawn(self, event_type: str, data: st.DataObject) -> None:
        longest = 200 if event_type in ("review_held", "case_closed") else 45
        gap = data.draw(st.integers(0, 15) | st.integers(0, longest), label="days later")
        record = record_of(event_type, data)
        self.record(parse_event({**record, "on": self.day(gap).isoformat()}))

    # --- invariants ------------------------------------------------------------------------

    @invariant()
    def agrees_with_the_reference(self) -> None:
        assert self.state.stage.value == self.reference.stage
        kinds = [d.kind.value for d in self.state.deadlines]
        assert len(kinds) == len(set(kinds)), "one clock of a kind at a time"
        assert set(kinds) == self.reference.open

    @invariant()
    def the_chair_finding_agrees(self) -> None:
        """003 L131: only the first review after 12 months with another chair is a finding."""
        assert self.state.chair_finding == self.reference.chair_finding
        assert not any(d.kind is K.TEAM_MANAGER_REVIEW for d in self.state.deadlines)

    @invariant()
    def every_open_deadline_can_be_met_now(self) -> None:
        """Issue 8 point 5: for each open clock some event, legal today, meets it."""
        if not self.state.deadlines:
            return
        meetable: set[str] = set()
        for record in CANDIDATES:
            event = parse_event({**record, "on": self.today.isoformat()})
            try:
                transition = apply(self.state, event, self.policy)
            except EventRefused:
                continue
            meetable |= {c.key for c in transition.changes if c.action.value in ("met", "met_late")}
        stuck = [d.key for d in self.state.deadlines if d.key not in meetable]
        assert not stuck, f"no legal event meets {stuck} at {self.state.stage.value}"

    @invariant()
    def a_closed_case_owes_nothing(self) -> None:
        if self.state.stage is Stage.CLOSED:
            assert self.state.deadlines == ()
            assert self.state.closure_reason is not None

    @invariant()
    def due_dates_follow_their_starts(self) -> None:
        assert all(d.due >= d.start for d in self.state.deadlines)

    @invariant()
    def rebuild_equals_live(self) -> None:
        assert rebuild(self.events, self.policy) == self.state
        assert self.state.events_applied == len(self.events)

    @invariant()
    def state_round_trips(self) -> None:
        text = json.dumps(state_to_dict(self.state))
        assert state_from_dict(json.loads(text)) == self.state


LifecycleMachine.TestCase.settings = settings(
    max_examples=200, stateful_step_count=50, deadline=None
)
test_lifecycle_state_machine = LifecycleMachine.TestCase
