"""The working copy one event's handler edits: opens, meets and cancels clocks, moves the stage.

It is mutable but private to a single `apply` call; `finish()` freezes it into a `Transition`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import NoReturn

from models.lifecycle.codes import ClosureReasonCode
from models.lifecycle.errors import EventRefused
from models.lifecycle.events import Event, VisitFrequency
from models.lifecycle.state import CaseState, OpenDeadline, Stage
from models.lifecycle.transition import DeadlineAction, DeadlineChange, Transition
from models.policy.timescales import PolicyTimeline, PolicyView, TimescaleKind

# Clocks of one family share a key sequence: the first review and the later ones are
# "review#1", "review#2", ...; every visit owed is "visit#n".
_FAMILY: dict[TimescaleKind, str] = {
    TimescaleKind.FIRST_REVIEW: "review",
    TimescaleKind.REVIEW: "review",
    TimescaleKind.FIRST_CP_REVIEW: "cp_review",
    TimescaleKind.CP_REVIEW: "cp_review",
}
_RECURRING: frozenset[str] = frozenset({"review", "visit", "cp_review"})


def family_of(kind: TimescaleKind) -> str:
    return _FAMILY.get(kind, kind.value)


def key_for(family: str, number: int) -> str:
    """`review#3`, `visit#12`; a one-off clock is its kind's name, `#2` only if it is reopened."""
    if family in _RECURRING or number > 1:
        return f"{family}#{number}"
    return family


class Draft:
    def __init__(self, state: CaseState, event: Event, policy: PolicyTimeline) -> None:
        self.state = state
        self._stage_at_start = state.stage
        self.event = event
        self.on: date = event.on
        self._policy = policy
        self._open: dict[str, OpenDeadline] = {d.key: d for d in state.deadlines}
        self._opened: dict[str, int] = dict(state.clocks_opened)
        self._changes: list[DeadlineChange] = []
        self._notes: list[str] = []

    # --- refusing and noting ---------------------------------------------------------------

    def refuse(self, why: str) -> NoReturn:
        raise EventRefused(
            f"{self.event.type} on {self.on.isoformat()} refused at stage "
            f"{self._stage_at_start.value}: {why}"
        )

    def note(self, text: str) -> None:
        self._notes.append(text)

    # --- the stage -------------------------------------------------------------------------

    def move_to(self, stage: Stage) -> None:
        if stage is not self.state.stage:
            self.state = replace(self.state, stage=stage, stage_since=self.on)

    def close(self, reason: ClosureReasonCode, *, on: date | None = None) -> None:
        """Closure cancels every clock still running. `on`: a closure that takes effect later
        than the event (an NFA closes when the manager authorises it, issue 19 point 3)."""
        closed_on = self.on if on is None else max(on, self.on)
        self.cancel_all()
        self.move_to(Stage.CLOSED)
        self.state = replace(
            self.state,
            closed_on=closed_on,
            closure_reason=reason,
            after_icpc=None,
            assessment_open=False,
            awaiting_strategy=False,
        )
        self.note(f"case closed on {closed_on.isoformat()} with reason {reason}")

    # --- clocks ----------------------------------------------------------------------------

    def policy_on(self, day: date) -> PolicyView:
        try:
            return self._policy.on(day)
        except ValueError as error:  # PolicyError: no version in force that day
            self.refuse(f"no policy to count from {day}: {error}")

    def find(self, *kinds: TimescaleKind) -> OpenDeadline | None:
        return next((d for d in self._open.values() if d.kind in kinds), None)

    def open(
        self,
        kind: TimescaleKind,
        start: date,
        *,
        frequency: VisitFrequency | None = None,
        counted_from: str = "",
        anchor: str | None = None,
    ) -> OpenDeadline | None:
        """Start `kind`'s clock on `start`, counted under the policy version in force that day.

        `frequency` is the case's own timescale (the plan's visiting frequency), counted on the
        authority's calendar from `counted_from` ("previous visit"). Returns None (and notes
        it) where that policy version sets no such clock. `anchor` names the day counted from in
        the explanation where it is not the timescale's own. A date the policy or its calendar
        cannot count (outside its coverage) refuses the event: a due date is never guessed.
        """
        view = self.policy_on(start)
        if frequency is None and not view.has(kind):
            self.note(f"no {kind.value} clock: {view.authority} v{view.version} sets none")
            return None
        try:
            if frequency is not None:
                counted = view.count_custom(frequency.amount, frequency.unit, start, counted_from)
            else:
                counted = view.count(kind, start, anchor=anchor)
        except ValueError as error:  # the calendar's OutOfCoverageError
            self.refuse(f"cannot count {kind.value} from {start}: {error}")
        family = family_of(kind)
        number = self._opened.get(family, 0) + 1
        self._opened[family] = number
        deadline = OpenDeadline(
            key_for(family, number), kind, start, counted.due, counted.policy_ref
        )
        self._open[deadline.key] = deadline
        self._changes.append(
            DeadlineChange(
                DeadlineAction.OPEN,
                deadline.key,
                kind,
                start,
                counted.due,
                self.on,
                counted.policy_ref,
                counted.explanation,
                counted.source,
            )
        )
        return deadline

    def answer(self, deadline: OpenDeadline, *, late: bool | None = None) -> None:
        """Met on or before the due date, met late after it (unless the rule says otherwise)."""
        is_late = self.on > deadline.due if late is None else late
        action = DeadlineAction.MET_LATE if is_late else DeadlineAction.MET
        self._close_clock(deadline, action)

    def cancel(self, key: str) -> None:
        """The clock no longer applies. If its due date has already passed (the event is dated
        after it), it was missed: it closes `unmet`, not `cancelled` (issue 19 point 5)."""
        deadline = self._open[key]
        missed = self.on > deadline.due
        self._close_clock(deadline, DeadlineAction.UNMET if missed else DeadlineAction.CANCELLED)

    def cancel_kinds(self, *kinds: TimescaleKind) -> None:
        for deadline in [d for d in self._open.values() if d.kind in kinds]:
            self.cancel(deadline.key)

    def cancel_all(self, *, keep: tuple[TimescaleKind, ...] = ()) -> None:
        for key in sorted(self._open):
            if self._open[key].kind not in keep:
                self.cancel(key)

    def _close_clock(self, deadline: OpenDeadline, action: DeadlineAction) -> None:
        del self._open[deadline.key]
        self._changes.append(
            DeadlineChange(
                action,
                deadline.key,
                deadline.kind,
                deadline.start,
                deadline.due,
                self.on,
                deadline.policy_ref,
            )
        )

    # --- done ------------------------------------------------------------------------------

    def finish(self) -> Transition:
        state = replace(
            self.state,
            deadlines=tuple(sorted(self._open.values(), key=lambda d: d.key)),
            clocks_opened=tuple(sorted(self._opened.items())),
            events_applied=self.state.events_applied + 1,
        )
        return Transition(state, tuple(self._changes), tuple(self._notes))
