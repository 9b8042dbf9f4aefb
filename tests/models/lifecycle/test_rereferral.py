"""Re-referral: within 12 calendar months of a previous referral, the last day included."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.lifecycle import add_calendar_months, is_re_referral
from tests.models.lifecycle.helpers import d


@pytest.mark.parametrize(
    ("previous", "new", "expected"),
    [
        (["2025-01-06"], "2026-01-06", True),  # 12 months to the day: inclusive
        (["2025-01-06"], "2026-01-07", False),
        (["2025-01-06"], "2025-01-07", True),
        (["2025-01-06"], "2025-01-06", False),  # the same day is the same referral
        (["2025-03-01"], "2025-01-06", False),  # later referrals are not "previous"
        (["2024-02-29"], "2025-02-28", True),  # clamped to the month's end
        (["2024-02-29"], "2025-03-01", False),
        (["2023-01-01", "2024-06-30"], "2025-06-30", True),  # any previous one counts
        (["2023-01-01", "2024-06-29"], "2025-06-30", False),
        ([], "2025-06-30", False),
    ],
)
def test_re_referral_examples(previous: list[str], new: str, expected: bool) -> None:
    assert is_re_referral([d(p) for p in previous], d(new)) is expected


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2025-08-31", 6, "2026-02-28"),
        ("2024-01-31", 1, "2024-02-29"),
        ("2025-12-15", 1, "2026-01-15"),
    ],
)
def test_calendar_months_clamp(start: str, months: int, expected: str) -> None:
    assert add_calendar_months(d(start), months) == d(expected)


def a_year_on(day: date) -> date:
    """An independent spelling: the same day next year, 29 Feb becoming 28 Feb."""
    if (day.month, day.day) == (2, 29):
        return date(day.year + 1, 2, 28)
    return day.replace(year=day.year + 1)


@given(
    previous=st.dates(date(2000, 1, 1), date(2040, 12, 31)),
    gap=st.integers(-400, 800),
)
def test_re_referral_matches_a_year_on(previous: date, gap: int) -> None:
    new = previous + timedelta(days=gap)
    assert is_re_referral([previous], new) is (previous < new <= a_year_on(previous))
