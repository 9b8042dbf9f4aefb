"""A deliberately naive day-by-day reference the fast calendar is checked against."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import holidays

from calendars import AnnualClosure, Closure, Nation, OneOffClosure, Unit


def is_working(day: date, nation: Nation, closures: tuple[Closure, ...]) -> bool:
    if day.weekday() >= 5:
        return False
    if day in holidays.country_holidays("GB", subdiv=nation.subdivision, years=day.year):
        return False
    for closure in closures:
        if isinstance(closure, OneOffClosure) and closure.day == day:
            return False
        if isinstance(closure, AnnualClosure) and closure.covers(day):
            return False
    return True


def add(
    start: date,
    n: int,
    unit: Unit,
    nation: Nation,
    closures: tuple[Closure, ...] = (),
    roll_forward: bool = False,
) -> date:
    day = start
    if roll_forward:
        while not is_working(day, nation, closures):
            day += timedelta(days=1)
    if unit is Unit.WORKING_DAYS:
        remaining = n
        while remaining:
            day += timedelta(days=1)
            if is_working(day, nation, closures):
                remaining -= 1
        return day
    if unit is Unit.DAYS:
        return day + timedelta(days=n)
    if unit is Unit.WEEKS:
        return day + timedelta(days=7 * n)
    month_index = day.month - 1 + n
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
