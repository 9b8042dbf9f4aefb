"""Working-day arithmetic over a precomputed index of one calendar's working days.

The calendar covers a fixed span (COVERAGE_START..COVERAGE_END). For each day offset `o` in it we
keep `rank[o]`, the number of working days at offsets <= o, and `working[k]`, the offset of the
k-th working day. "N working days after day o" (day 0 is the event's day, DESIGN.md "Working days";
Dodds v Walker) is then `working[rank[o] + N - 1]`: two list look-ups for the scalar path and two
numpy gathers for the vectorised one, so both give the same answer by construction and neither
loops over days.
"""

from __future__ import annotations

import calendar as stdlib_calendar
from collections.abc import Iterable
from datetime import date, timedelta
from functools import lru_cache

import holidays
import numpy as np
import numpy.typing as npt

from calendars.types import (
    AnnualClosure,
    Closure,
    Count,
    Nation,
    OneOffClosure,
    SkippedDay,
    Unit,
)

# Years the engine will count in. Bank holidays beyond the next year or two are the statutory
# pattern as the `holidays` package knows it; one-off days (jubilees, funerals) are added to the
# package as they are proclaimed, so keep `holidays` current.
COVERAGE_START = date(2000, 1, 1)
COVERAGE_END = date(2040, 12, 31)

_EPOCH = date(1970, 1, 1).toordinal()
_WEEKDAY_NAMES = ("Saturday", "Sunday")

DateArray = npt.NDArray[np.datetime64]
IntArray = npt.NDArray[np.int64]


class CalendarError(ValueError):
    """A count the calendar cannot answer; the message names the input that was wrong."""


class OutOfCoverageError(CalendarError):
    pass


class WorkingCalendar:
    """One nation's bank holidays plus one authority's closure days, over the coverage span."""

    def __init__(self, nation: Nation, closures: Iterable[Closure] = ()) -> None:
        self.nation = nation
        self.closures: tuple[Closure, ...] = tuple(closures)
        self._base = COVERAGE_START.toordinal()
        size = COVERAGE_END.toordinal() - self._base + 1
        self._reasons = _non_working_reasons(nation, self.closures, self._base, size)
        is_working = np.ones(size, dtype=bool)
        is_working[list(self._reasons)] = False
        self._is_working_np = is_working
        self._working_np = np.flatnonzero(is_working).astype(np.int32)
        self._rank_np = np.cumsum(is_working, dtype=np.int32)
        self._working: list[int] = self._working_np.tolist()
        self._rank: list[int] = self._rank_np.tolist()
        self._size = size

    def __repr__(self) -> str:
        return f"WorkingCalendar({self.nation.value!r}, {len(self.closures)} closures)"

    # -- single dates ---------------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        return self._offset(day, "date") not in self._reasons

    def non_working_reason(self, day: date) -> str | None:
        """Why `day` is not a working day ("Saturday", "Boxing Day", ...), or None if it is one."""
        return self._reasons.get(self._offset(day, "date"))

    def next_working_day(self, day: date) -> date:
        """`day` itself when it is a working day, else the first working day after it."""
        o = self._offset(day, "date")
        if o not in self._reasons:
            return day
        return self._date_at(self._working_at(self._rank[o], day, 1))

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]: 0 when end is the next day and that is a holiday."""
        return self._rank[self._offset(end, "end")] - self._rank[self._offset(start, "start")]

    # -- counting -------------------------------------------------------------------------------

    def add(
        self,
        start: date,
        amount: int,
        unit: Unit = Unit.WORKING_DAYS,
        *,
        roll_forward: bool = False,
    ) -> date:
        """The due date of "within `amount` `unit` of `start`" (day 0 is `start`)."""
        _check_amount(amount)
        counted_from = self.next_working_day(start) if roll_forward else start
        o = self._offset(counted_from, "start")
        if unit is Unit.WORKING_DAYS:
            if amount == 0:
                return counted_from
            return self._date_at(self._working_at(self._rank[o] + amount - 1, start, amount))
        due = _add_calendar_units(counted_from, amount, unit)
        self._offset(due, f"due date ({amount} {unit.value} after {start.isoformat()})")
        return due

    def count(
        self,
        start: date,
        amount: int,
        unit: Unit = Unit.WORKING_DAYS,
        *,
        roll_forward: bool = False,
    ) -> Count:
        """`add` with its working: the days passed over and why, for explanations."""
        due = self.add(start, amount, unit, roll_forward=roll_forward)
        counted_from = self.next_working_day(start) if roll_forward else start
        skipped: tuple[SkippedDay, ...] = ()
        if unit is Unit.WORKING_DAYS:
            lo, hi = self._offset(counted_from, "start"), self._offset(due, "due")
            skipped = tuple(
                SkippedDay(self._date_at(o), self._reasons[o])
                for o in range(lo + 1, hi)
                if o in self._reasons
            )
        clamped = unit is Unit.MONTHS and due.day != counted_from.day
        return Count(start, counted_from, amount, unit, due, skipped, clamped)

    def add_many(
        self,
        starts: DateArray,
        amounts: IntArray,
        unit: Unit = Unit.WORKING_DAYS,
        *,
        roll_forward: bool = False,
    ) -> DateArray:
        """Vectorised `add`: same answers, element for element, for arrays of starts and amounts."""
        offsets = starts.astype("datetime64[D]").astype(np.int64) - (self._base - _EPOCH)
        amounts = np.asarray(amounts, dtype=np.int64)
        if offsets.size == 0:
            return starts.astype("datetime64[D]")
        if amounts.size and amounts.min() < 0:
            raise CalendarError(f"amount must be 0 or more; got {int(amounts.min())}")
        self._check_offsets(offsets, "start")
        if roll_forward:
            # for a non-working day, rank[o] is the index of the next working day
            next_index = np.minimum(self._rank_np[offsets], len(self._working_np) - 1)
            offsets = np.where(self._is_working_np[offsets], offsets, self._working_np[next_index])
        if unit is Unit.WORKING_DAYS:
            k = self._rank_np[offsets] + amounts - 1
            if k.size and k.max() >= len(self._working_np):
                raise OutOfCoverageError(
                    f"a due date falls after {COVERAGE_END.isoformat()}, the calendar's last day"
                )
            due = np.where(amounts == 0, offsets, self._working_np[np.maximum(k, 0)])
            return (due + (self._base - _EPOCH)).astype("datetime64[D]")
        days = (offsets + (self._base - _EPOCH)).astype("datetime64[D]")
        result = _add_calendar_units_many(days, amounts, unit)
        self._check_offsets(result.astype(np.int64) - (self._base - _EPOCH), "due date")
        return result

    # -- internals ------------------------------------------------------------------------------

    def _offset(self, day: date, what: str) -> int:
        o = day.toordinal() - self._base
        if not 0 <= o < self._size:
            raise OutOfCoverageError(
                f"{what} {day.isoformat()} is outside the calendar's coverage "
                f"({COVERAGE_START.isoformat()} to {COVERAGE_END.isoformat()})"
            )
        return o

    def _check_offsets(self, offsets: IntArray, what: str) -> None:
        lo, hi = int(offsets.min()), int(offsets.max())
        if lo < 0 or hi >= self._size:
            bad = self._base + (lo if lo < 0 else hi)
            self._offset(date.fromordinal(max(bad, 1)), what)

    def _working_at(self, k: int, start: date, amount: int) -> int:
        if k >= len(self._working):
            raise OutOfCoverageError(
                f"{amount} working days after {start.isoformat()} falls after "
                f"{COVERAGE_END.isoformat()}, the calendar's last day"
            )
        return self._working[k]

    def _date_at(self, offset: int) -> date:
        return date.fromordinal(self._base + offset)


@lru_cache(maxsize=64)
def get_calendar(nation: Nation, closures: tuple[Closure, ...] = ()) -> WorkingCalendar:
    """The (cached) calendar for a nation and an authority's closure days."""
    return WorkingCalendar(Nation(nation), closures)


def _non_working_reasons(
    nation: Nation, closures: tuple[Closure, ...], base: int, size: int
) -> dict[int, str]:
    bank_holidays = holidays.country_holidays(
        "GB", subdiv=nation.subdivision, years=range(COVERAGE_START.year, COVERAGE_END.year + 1)
    )
    one_offs = {c.day: c.name for c in closures if isinstance(c, OneOffClosure)}
    annual = [c for c in closures if isinstance(c, AnnualClosure)]
    reasons: dict[int, str] = {}
    for o in range(size):
        day = date.fromordinal(base + o)
        # A bank holiday's own name beats "Saturday": a manager reading "skipping 25 Dec" wants it.
        # A closure on a weekend changes nothing, so the weekend names it.
        holiday = bank_holidays.get(day)
        if holiday:
            reasons[o] = str(holiday)
        elif day.weekday() >= 5:
            reasons[o] = _WEEKDAY_NAMES[day.weekday() - 5]
        elif day in one_offs:
            reasons[o] = f"closure: {one_offs[day]}"
        elif closure := next((c for c in annual if c.covers(day)), None):
            reasons[o] = f"closure: {closure.name}"
    return reasons


def _check_amount(amount: int) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise CalendarError(f"amount must be a whole number; got {amount!r}")
    if amount < 0:
        raise CalendarError(f"amount must be 0 or more; got {amount}")


def add_months(start: date, months: int) -> date:
    """The same date `months` calendar months on, clamped to month end (31 Aug + 6 = 28 Feb)."""
    y, m = divmod(start.month - 1 + months, 12)
    year, month = start.year + y, m + 1
    return date(year, month, min(start.day, stdlib_calendar.monthrange(year, month)[1]))


def _add_calendar_units(start: date, amount: int, unit: Unit) -> date:
    try:
        return _add_calendar_units_unchecked(start, amount, unit)
    except (OverflowError, ValueError):  # past year 9999: far outside any coverage
        raise CalendarError(
            f"due date ({amount} {unit.value} after {start.isoformat()}) is outside the "
            f"calendar's coverage ({COVERAGE_START.isoformat()} to {COVERAGE_END.isoformat()})"
        ) from None


def _add_calendar_units_unchecked(start: date, amount: int, unit: Unit) -> date:
    if unit is Unit.DAYS:
        return start + timedelta(days=amount)
    if unit is Unit.WEEKS:
        return start + timedelta(weeks=amount)
    if unit is Unit.MONTHS:
        return add_months(start, amount)
    raise CalendarError(f"unit must be one of {', '.join(u.value for u in Unit)}; got {unit!r}")


def _add_calendar_units_many(days: DateArray, amounts: IntArray, unit: Unit) -> DateArray:
    result: DateArray
    if unit is Unit.DAYS:
        result = days + amounts.astype("timedelta64[D]")
        return result
    if unit is Unit.WEEKS:
        result = days + (amounts * 7).astype("timedelta64[D]")
        return result
    if unit is Unit.MONTHS:
        month_start = days.astype("datetime64[M]")
        day_index = (days - month_start.astype("datetime64[D]")).astype(np.int64)
        target = month_start + amounts.astype("timedelta64[M]")
        target_first = target.astype("datetime64[D]")
        month_len = ((target + 1).astype("datetime64[D]") - target_first).astype(np.int64)
        result = target_first + np.minimum(day_index, month_len - 1).astype("timedelta64[D]")
        return result
    raise CalendarError(f"unit must be one of {', '.join(u.value for u in Unit)}; got {unit!r}")
