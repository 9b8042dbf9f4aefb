"""Re-referral: a referral within 12 months of a previous referral of the same child (DfE)."""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date


def add_calendar_months(day: date, months: int) -> date:
    """The same date `months` on, clamped to the month's end (31 Mar + 11 months = 29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def is_re_referral(previous_referral_dates: Iterable[date], new: date) -> bool:
    """True if `new` falls within 12 calendar months after any earlier referral of the child.

    Inclusive: a referral on the same date a year later (clamped: 29 Feb -> 28 Feb) counts, as
    "within 12 months" includes its last day. A previous referral on the same day as `new` (or
    later) is not "previous": it is the same referral, or recorded out of order.
    """
    return any(
        previous < new <= add_calendar_months(previous, 12) for previous in previous_referral_dates
    )
