"""Where "today" comes from. Domain code is handed a date; only these clocks look at the time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


class Clock(Protocol):
    def today(self) -> date: ...


class LondonClock:
    """The real clock: today's date in England (a deadline "today" is a London day)."""

    def today(self) -> date:
        return datetime.now(LONDON).date()


@dataclass
class FixedClock:
    """A clock the demo and tests move by hand."""

    day: date

    def today(self) -> date:
        return self.day


def clock_from(setting: str | None) -> Clock:
    """`CIN_TODAY=YYYY-MM-DD` pins the clock (simulations); unset means the real date."""
    return FixedClock(date.fromisoformat(setting)) if setting else LondonClock()
