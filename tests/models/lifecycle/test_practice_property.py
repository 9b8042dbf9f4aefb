"""Issue 19's property, on the lifecycle with the four councils' real policies: histories drawn
from a model of practice (demo/practice_model.py, written from the seeds and
Working Together, not from the engine's machine) are accepted event by event, every open
deadline has an event legal now that meets it, and rebuilding from the log equals the live
state. Episodes follow one another for the same child (re-referrals) and some open with a
transfer in.

The census side (the DfE's rules on the returns these histories make) is
tests/models/census/test_practice_return.py; the long run is bench/practice_bench.py.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import hypothesis
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from demo.practice_model import COUNCILS, Chooser, Practice, meetable_now
from models.census.episodes import PLAN_EVENTS
from models.census.in_force import NOTHING, in_force_on
from models.census.parts import LogEntry
from models.lifecycle import (
    Event,
    EventRefused,
    Stage,
    apply,
    event_to_dict,
    initial_state,
    parse_event,
    rebuild,
)
from models.policy.book import load_policy_dir
from models.report.on_date import history_in_force

BOOK = load_policy_dir(Path(__file__).resolve().parents[3] / "policies")


class PracticeMachine(RuleBasedStateMachine):
    @initialize(
        council=st.sampled_from(COUNCILS),
        start=st.dates(date(2023, 1, 2), date(2026, 6, 30)),
        transfer_in=st.booleans(),
    )
    def first_episode(self, council: str, start: date, transfer_in: bool) -> None:
        self.policy = BOOK.authority(council)
        self.episodes = 0
        self.data_draws: st.DataObject | None = None
        self.start_episode(start, transfer_in)

    def start_episode(self, start: date, transfer_in: bool) -> None:
        self.state = initial_state()
        self.events: list[Event] = []
        self.practice: Practice | None = None
        self.pending_start = (start, transfer_in)
        self.episodes += 1

    def record(self, records: list[dict[str, object]]) -> None:
        for record in records:
            event = parse_event(record)
            try:
                self.state = apply(self.state, event, self.policy).state
            except EventRefused as refusal:
                raise AssertionError(f"a lawful event was refused: {refusal.reason}") from None
            self.events.append(event)
            hypothesis.event(f"{event.type}")

    @rule(data=st.data())
    def council_records_the_next_thing(self, data: st.DataObject) -> None:
        choose = Chooser(
            lambda options: data.draw(st.sampled_from(list(options))),
            lambda low, high: data.draw(st.integers(low, high)),
        )
        if self.practice is None:
            start, transfer_in = self.pending_start
            self.practice = Practice(choose, start)
            self.practice.open(transfer_in)
            self.record(self.practice.events)
            return
        if self.practice.closed:
            return
        self.practice.choose = choose
        done = len(self.practice.events)
        self.practice.step()
        self.record(self.practice.events[done:])

    @precondition(lambda self: self.practice is not None and self.practice.closed)
    @rule(gap=st.integers(1, 400))
    def the_child_is_referred_again(self, gap: int) -> None:
        assert self.practice is not None
        last = max(self.practice.day, self.state.closed_on or self.practice.day)
        hypothesis.event("re-referral")
        self.start_episode(last + timedelta(days=gap), transfer_in=False)

    @invariant()
    def closed_when_practice_closed(self) -> None:
        if self.practice is not None and self.events:
            assert (self.state.stage is Stage.CLOSED) is self.practice.closed

    @invariant()
    def every_open_deadline_can_be_met_now(self) -> None:
        if not self.state.deadlines or self.practice is None:
            return
        today = self.practice.day
        stuck = [
            d.key
            for d in self.state.deadlines
            if d.key not in meetable_now(self.state, today, self.policy)
        ]
        assert not stuck, f"no legal event meets {stuck} at {self.state.stage.value}"

    @invariant()
    def rebuild_equals_live(self) -> None:
        assert rebuild(self.events, self.policy) == self.state

    @invariant()
    def the_report_counts_what_the_return_counts(self) -> None:
        """On the day of the latest record, the latest day of the log and the day after (after
        every step, so every day of the history once): what `cin report` counts in force (the
        case's plan events folded as one history, models/report/on_date.py) is what the census
        fold of the whole log gives (the return, Annex A: issue 19 point 11)."""
        if not self.events:
            return
        log = [LogEntry(seq, e.type, e.on, event_to_dict(e))
               for seq, e in enumerate(self.events, start=1)]  # fmt: skip
        closed_on = self.state.closed_on
        last = max(e.on for e in log)
        days = sorted({log[-1].on, last, last + timedelta(days=1)})
        for day in days:
            whole = in_force_on("", log, closed_on=closed_on, day=day)
            if (
                self.state.referral_date is None
                or self.state.referral_date > day
                or (closed_on is not None and closed_on <= day)
            ):
                assert whole == NOTHING, day  # the report reads only the cases open on the day
                continue
            steps = sorted((e for e in log if e.type in PLAN_EVENTS and e.on <= day),
                           key=lambda e: (e.on, e.seq))  # fmt: skip
            history = " ".join(f"{e.type}/{e.data.get('outcome') or ''}" for e in steps)
            assert history_in_force(history, day) == whole, (day, history)


PracticeMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
test_practice_histories_are_accepted = PracticeMachine.TestCase
