"""The collection year: 1 April to 31 March, the reference date (DfE CIN census guide)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol


class ReferenceDay(Protocol):
    """The day a log is folded as at: a census year's reference date, or Annex A's as-of date."""

    @property
    def reference_date(self) -> date: ...


@dataclass(frozen=True, slots=True)
class CensusYear:
    """`year` names the collection by the year its reference date falls in: 2026 is the year
    from 1 April 2025 to the reference date 31 March 2026."""

    year: int

    @property
    def start(self) -> date:
        return date(self.year - 1, 4, 1)

    @property
    def reference_date(self) -> date:
        return date(self.year, 3, 31)

    def within(self, day: date | None) -> bool:
        return day is not None and self.start <= day <= self.reference_date

    def still_running(self, end: date | None) -> bool:
        """A thing that ended on `end` (None = not ended by the reference date) was open at some
        time in the year, given that it started on or before the reference date."""
        return end is None or end >= self.start
