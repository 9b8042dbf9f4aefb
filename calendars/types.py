"""Value types shared by the calendar code and the policies that configure it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Nation(StrEnum):
    """The four UK nations; each has its own bank holidays (`holidays.UK` subdivisions)."""

    ENGLAND = "england"
    WALES = "wales"
    SCOTLAND = "scotland"
    NORTHERN_IRELAND = "northern-ireland"

    @property
    def subdivision(self) -> str:
        return _SUBDIVISIONS[self]


_SUBDIVISIONS = {
    Nation.ENGLAND: "ENG",
    Nation.WALES: "WLS",
    Nation.SCOTLAND: "SCT",
    Nation.NORTHERN_IRELAND: "NIR",
}


class Unit(StrEnum):
    """How a timescale is counted (DESIGN.md, "Working days")."""

    WORKING_DAYS = "working-days"
    DAYS = "days"
    WEEKS = "weeks"
    MONTHS = "months"


@dataclass(frozen=True, slots=True)
class OneOffClosure:
    """A single date the authority's offices are closed (e.g. an extra day at Christmas)."""

    day: date
    name: str


@dataclass(frozen=True, slots=True)
class AnnualClosure:
    """A yearly closure, inclusive at both ends; may wrap the year end (24 Dec-2 Jan)."""

    start_month: int
    start_day: int
    end_month: int
    end_day: int
    name: str

    def __post_init__(self) -> None:
        for month, day in ((self.start_month, self.start_day), (self.end_month, self.end_day)):
            if not 1 <= month <= 12:
                raise ValueError(f"closure {self.name!r}: month {month} is not 1-12")
            # 2000 is a leap year, so 29 Feb is accepted as a month-day
            date(2000, month, day)

    def covers(self, day: date) -> bool:
        md = (day.month, day.day)
        start = (self.start_month, self.start_day)
        end = (self.end_month, self.end_day)
        if start <= end:
            return start <= md <= end
        return md >= start or md <= end


Closure = OneOffClosure | AnnualClosure


@dataclass(frozen=True, slots=True)
class SkippedDay:
    day: date
    reason: str


@dataclass(frozen=True, slots=True)
class Count:
    """The answer to "N units after START", with what it took to get there."""

    start: date
    counted_from: date  # the start, or the next working day when rolled forward
    amount: int
    unit: Unit
    due: date
    skipped: tuple[SkippedDay, ...]  # non-working days passed over (working-day units only)
    clamped: bool = False  # months: the date did not exist and was clamped to the month's end

    def skipped_text(self) -> str:
        """`25 Dec, 26 Dec, 1 Jan` style list of the days passed over that were not weekends."""
        named = [s for s in self.skipped if s.reason not in ("Saturday", "Sunday")]
        return ", ".join(f"{s.day.day} {s.day:%b} ({s.reason})" for s in named)
