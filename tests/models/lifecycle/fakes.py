"""A stand-in `PolicyTimeline` for the lifecycle tests: plain arithmetic, no bank holidays.

Working days are weekdays; "N working days after" is the N-th weekday after day 0 (the event's
day); months are the same date N months on, clamped to the month's end. The amounts are
Redbridge's (003) over the statutory rules (Working Together) and the engine's step-down panel
wait, as the real policies say; no authority sets a visit default (003 L202), so none here.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta

from calendars.types import Unit
from models.policy.timescales import CountedDue, PracticeRule, TimescaleKind

K = TimescaleKind
Amount = tuple[int, Unit]

NATIONAL: dict[TimescaleKind, Amount] = {
    K.REFERRAL_DECISION: (1, Unit.WORKING_DAYS),
    K.ASSESSMENT_COMPLETED: (45, Unit.WORKING_DAYS),
    K.ICPC: (15, Unit.WORKING_DAYS),
    K.FIRST_CP_REVIEW: (3, Unit.MONTHS),
    K.CP_REVIEW: (6, Unit.MONTHS),
}
REDBRIDGE: dict[TimescaleKind, Amount] = {
    **NATIONAL,
    K.STEP_DOWN_PANEL: (10, Unit.WORKING_DAYS),  # engine default
    K.CIN_PLAN_MEETING: (15, Unit.WORKING_DAYS),
    K.PLAN_DISTRIBUTED: (10, Unit.WORKING_DAYS),
    K.PLAN_IN_PLACE: (3, Unit.MONTHS),
    K.FIRST_REVIEW: (6, Unit.WEEKS),
    K.REVIEW: (6, Unit.MONTHS),
    K.TEAM_MANAGER_REVIEW: (12, Unit.MONTHS),
    K.TRANSFER_IN_MEETING: (20, Unit.WORKING_DAYS),
}
# Rules that are not clocks, as the real files set them: only Redbridge's document has one.
RULES: dict[str, dict[PracticeRule, str]] = {
    "redbridge": {
        PracticeRule.PLAN_ENDS_AT_REVIEW: "003 L146",
        PracticeRule.PLAN_SHOULD_SET_VISITS: "003 L202",
    },
}
WARWICKSHIRE: dict[TimescaleKind, Amount] = {
    **NATIONAL,
    K.CIN_SUPPORT_INITIATED: (20, Unit.WORKING_DAYS),
}


def add_weekdays(start: date, n: int) -> date:
    day, counted = start, 0
    while counted < n:
        day += timedelta(days=1)
        if day.weekday() < 5:
            counted += 1
    return day


def add_months(start: date, n: int) -> date:
    index = start.year * 12 + start.month - 1 + n
    year, month = divmod(index, 12)
    return date(year, month + 1, min(start.day, calendar.monthrange(year, month + 1)[1]))


def add(start: date, amount: int, unit: Unit) -> date:
    if unit is Unit.WORKING_DAYS:
        return add_weekdays(start, amount)
    if unit is Unit.DAYS:
        return start + timedelta(days=amount)
    if unit is Unit.WEEKS:
        return start + timedelta(weeks=amount)
    return add_months(start, amount)


@dataclass(frozen=True)
class FakePolicyView:
    authority: str
    version: int
    amounts: dict[TimescaleKind, Amount] = field(default_factory=lambda: dict(REDBRIDGE))

    @property
    def ref(self) -> str:
        return f"{self.authority} v{self.version}"

    def has(self, kind: TimescaleKind) -> bool:
        return kind in self.amounts

    def count(self, kind: TimescaleKind, start: date, *, anchor: str | None = None) -> CountedDue:
        amount, unit = self.amounts[kind]
        return self._counted(amount, unit, start, kind.value, f"fake {kind.value}")

    def count_custom(self, amount: int, unit: Unit, start: date, what: str) -> CountedDue:
        return self._counted(amount, unit, start, what, "the plan")

    def rule(self, rule: PracticeRule) -> str | None:
        return RULES.get(self.authority, {}).get(rule)

    def _counted(self, amount: int, unit: Unit, start: date, what: str, source: str) -> CountedDue:
        due = add(start, amount, unit)
        explanation = f"{amount} {unit.value} from {what} on {start} under {self.ref}"
        return CountedDue(due, explanation, self.ref, source)


@dataclass(frozen=True)
class FakeTimeline:
    """Versions by effective date; `on(day)` is the latest version in force on `day`."""

    versions: tuple[tuple[date, FakePolicyView], ...]

    def on(self, day: date) -> FakePolicyView:
        in_force = [view for start, view in self.versions if start <= day]
        if not in_force:
            raise ValueError(f"no policy version in force on {day}")  # as PolicyError does
        return in_force[-1]


EPOCH = date(2018, 1, 1)


def timeline(
    amounts: dict[TimescaleKind, Amount] | None = None, authority: str = "redbridge"
) -> FakeTimeline:
    view = FakePolicyView(authority, 1, dict(REDBRIDGE if amounts is None else amounts))
    return FakeTimeline(((EPOCH, view),))


def redbridge() -> FakeTimeline:
    return timeline(REDBRIDGE, "redbridge")


def warwickshire() -> FakeTimeline:
    return timeline(WARWICKSHIRE, "warwickshire")


def national() -> FakeTimeline:
    return timeline(NATIONAL, "national")
