"""What managers would be told over the coming weeks, from the monitor's own decisions (pure).

Each open deadline is walked day by day through `ladder.decide` from today, with its marks
carried from one day to the next as the monitor would write them: the worker's reminders, then
each rung once. Only the deadlines open now are projected: clocks that future events will open
are not known yet (docs/policies.md, "What if").
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from models.alerts.store import DueItem
from models.policy.book import ResolvedPolicy
from models.whatif.replay import LiveDeadline
from notifications.ladder import decide, ladder

WEEKS = 13  # a quarter


@dataclass
class Projection:
    alerts_by_week: list[int] = field(default_factory=lambda: [0] * WEEKS)
    escalations_by_rung: Counter[str] = field(default_factory=Counter)  # "1 team_manager"
    reminders: int = 0

    def add(self, other: Projection) -> None:
        pairs = zip(self.alerts_by_week, other.alerts_by_week, strict=True)
        self.alerts_by_week = [a + b for a, b in pairs]
        self.escalations_by_rung.update(other.escalations_by_rung)
        self.reminders += other.reminders

    def as_json(self) -> dict[str, object]:
        return {
            "alerts_by_week": self.alerts_by_week,
            "alerts_total": sum(self.alerts_by_week),
            "reminders": self.reminders,
            "escalations_by_rung": dict(sorted(self.escalations_by_rung.items())),
        }


# what one deadline raises over the weeks: (week, level, role) per notice (level 0: a reminder)
_Walk = tuple[tuple[int, int, str], ...]


def project(
    deadlines: Iterable[LiveDeadline],
    policy: ResolvedPolicy,
    today: date,
    soon: int,
    memo: dict[tuple[str, date, int, int], _Walk] | None = None,
) -> Projection:
    """Notices raised from `today` for `WEEKS` weeks, under `policy` (the one in force today).

    A deadline's notices depend only on its kind, due date and marks: `memo` (one per policy,
    today and `soon`) keeps each such walk, which many deadlines share."""
    result = Projection()
    memo = {} if memo is None else memo
    for deadline in deadlines:
        key = (deadline.kind, deadline.due, deadline.escalation_level, deadline.reminder_level)
        walk = memo.get(key)
        if walk is None:
            walk = memo[key] = _walk(deadline, policy, today, soon)
        for week, level, role in walk:
            result.alerts_by_week[week] += 1
            if level == 0:
                result.reminders += 1
            else:
                result.escalations_by_rung[f"{level} {role}"] += 1
    return result


def _walk(deadline: LiveDeadline, policy: ResolvedPolicy, today: date, soon: int) -> _Walk:
    """The deadline walked day by day through the monitor's decisions, marks carried over."""
    notices: list[tuple[int, int, str]] = []
    end = today + timedelta(weeks=WEEKS)
    top = len(ladder(policy))
    level, reminder = deadline.escalation_level, deadline.reminder_level
    # nothing happens to a deadline before its "due soon" window (at most `soon` working
    # days, so never more than 3 * soon + 14 calendar days before it is due)
    day = max(today, deadline.due - timedelta(days=3 * soon + 14))
    status = "missed" if deadline.due < today else "open"
    while day < end and level < top:
        item = _item(deadline, status, level, reminder)
        decision = decide(item, policy, day, soon)
        if decision is not None:
            week = (day - today).days // 7
            notices.extend((week, n.level, n.role.value) for n in decision.notices)
            level, reminder = decision.escalation_level, decision.reminder_level
            status = "missed" if decision.mark_missed else status
        day += timedelta(days=1)
    return tuple(notices)


_NO_ID = uuid.UUID(int=0)


def _item(deadline: LiveDeadline, status: str, level: int, reminder: int) -> DueItem:
    return DueItem(
        source="deadline",
        row_id=_NO_ID,
        case_ref="",
        authority="",
        team=None,
        worker_id=None,
        flow_run_id=None,
        key=deadline.key,
        kind=deadline.kind,
        due=deadline.due,
        status=status,
        escalation_level=level,
        reminder_level=reminder,
        policy_ref="",
        explanation="",
    )
