"""What the monitor decides about one due item: remind, mark, escalate (pure: no clock, no DB).

The rules, counted in the authority's working days (its nation's bank holidays and its own
closure days):

- Alerts are raised on the authority's working days only. The monitor may run on a Saturday; the
  team manager hears on Monday.
- A deadline with `soon` working days or fewer left before it (the working days after today up to
  and including the due date): the allocated worker is reminded once ("due soon"); on the due
  date, once more ("due today"). These are rung 0 of the ladder.
- A deadline past its due date is overdue from the next day ("overdue since"), and is marked
  `missed`. "Working days overdue" counts the working days after the due date up to and including
  today: the first working day after the due date is 1. Rung k of the policy's ladder is told on
  the first working day on which that count reaches the rung's `after_working_days_overdue` (0
  meaning "as soon as it is overdue", the same day as 1). Each rung is told once; a monitor that
  missed days tells every rung it has reached, lowest first.
- Drift (three "continue" reviews in a row) climbs the same ladder, counted from the day it began.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from models.alerts.store import DueItem
from models.lifecycle.drift import TEAM_MANAGER_ONLY
from models.policy.book import ResolvedPolicy
from models.policy.parts import EscalationStep, Role

DUE_SOON = "due_soon"
DUE_TODAY = "due_today"
OVERDUE = "overdue"
DRIFT = "drift"


@dataclass(frozen=True, slots=True)
class Notice:
    """Somebody in `role` must be told `notice` about the item, at rung `level`."""

    level: int
    role: Role
    notice: str
    working_days: int  # working days overdue (or drifting); 0 for reminders


@dataclass(frozen=True, slots=True)
class Decision:
    item: DueItem
    notices: tuple[Notice, ...]
    escalation_level: int  # the item's new marks
    reminder_level: int
    mark_missed: bool  # an open deadline gone past due: mark it, and say so (cin.deadline.overdue)

    @property
    def changed(self) -> bool:
        return (
            self.mark_missed
            or self.escalation_level != self.item.escalation_level
            or self.reminder_level != self.item.reminder_level
        )


def ladder(policy: ResolvedPolicy) -> tuple[EscalationStep, ...]:
    """The rungs in the order they are reached (rung 1 first)."""
    order = list(Role)
    return tuple(
        sorted(
            policy.escalation,
            key=lambda s: (s.after_working_days_overdue, order.index(s.role)),
        )
    )


def soon_horizon(policy: ResolvedPolicy, as_of: date, soon: int) -> date:
    """The last date with at most `soon` working days left before it, seen from `as_of`."""
    return policy.calendar.add(as_of, soon + 1) - timedelta(days=1)


def decide(item: DueItem, policy: ResolvedPolicy, as_of: date, soon: int) -> Decision | None:
    """What to do about `item` on `as_of` under `policy` (None: nothing, today)."""
    calendar = policy.calendar
    if not calendar.is_working_day(as_of):
        return None
    if item.source == "drift":
        return _climb(item, policy, calendar.working_days_between(item.due, as_of), DRIFT)
    if item.due > as_of:
        if item.reminder_level >= 1 or calendar.working_days_between(as_of, item.due) > soon:
            return None
        return _remind(item, DUE_SOON, 1)
    if item.due == as_of:
        return None if item.reminder_level >= 2 else _remind(item, DUE_TODAY, 2)
    return _climb(item, policy, calendar.working_days_between(item.due, as_of), OVERDUE)


def _remind(item: DueItem, notice: str, level: int) -> Decision:
    return Decision(
        item=item,
        notices=(Notice(0, Role.WORKER, notice, 0),),
        escalation_level=item.escalation_level,
        reminder_level=level,
        mark_missed=False,
    )


def _climb(item: DueItem, policy: ResolvedPolicy, days: int, notice: str) -> Decision | None:
    rungs = ladder(policy)
    if item.kind in TEAM_MANAGER_ONLY:
        # a finding for the team manager (003 L131), never an escalation past them
        rungs = tuple(step for step in rungs if step.role is Role.TEAM_MANAGER)
    reached = sum(1 for step in rungs if days >= max(1, step.after_working_days_overdue))
    notices = tuple(
        Notice(level, rungs[level - 1].role, notice, days)
        for level in range(item.escalation_level + 1, reached + 1)
    )
    mark = item.source == "deadline" and item.status == "open"
    if not notices and not mark:
        return None
    return Decision(
        item=item,
        notices=notices,
        escalation_level=max(item.escalation_level, reached),
        reminder_level=item.reminder_level,
        mark_missed=mark,
    )
