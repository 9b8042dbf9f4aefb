"""The periods Annex A's lists cover, counted back from the as-of date (the day before an
inspection's data request, as the council chooses it).

Ofsted's ILACS inspection guidance ("Inspecting local authority children's services", Annex A)
asks for the six months before the request for lists 1 to 7, and counts a child's referrals,
section 47 enquiries and ICPCs "in the last 12 months". That guidance is not among the project's
source documents (/work/shared/seeds), so both spans are engine defaults here, named so:
`SIX_MONTHS` and `TWELVE_MONTHS` (docs/census-and-annex-a.md).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

SIX_MONTHS = 6  # engine default (Ofsted ILACS Annex A, not a seed): the lists' period
TWELVE_MONTHS = 12  # engine default (the same): the "in the last 12 months" counts


def months_before(day: date, months: int) -> date:
    """The same day of the month `months` calendar months earlier (the month's last day when it
    has fewer days: 31 August less 6 months is 28 or 29 February)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


@dataclass(frozen=True, slots=True)
class Period:
    """From `start` to `as_of`, both included: the six months up to the as-of date."""

    as_of: date

    @property
    def reference_date(self) -> date:  # the day a log is folded as at (census ReferenceDay)
        return self.as_of

    @property
    def start(self) -> date:
        return months_before(self.as_of, SIX_MONTHS) + timedelta(days=1)

    @property
    def year_start(self) -> date:
        return months_before(self.as_of, TWELVE_MONTHS) + timedelta(days=1)

    def within(self, day: date | None) -> bool:
        return day is not None and self.start <= day <= self.as_of

    def in_year(self, day: date | None) -> bool:
        return day is not None and self.year_start <= day <= self.as_of
