"""The calendar agrees with a day-by-day reference for every nation, unit and closure rule."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calendars import (
    AnnualClosure,
    CalendarError,
    Nation,
    OneOffClosure,
    OutOfCoverageError,
    Unit,
    WorkingCalendar,
    get_calendar,
)
from tests.calendars import reference

starts = st.dates(min_value=date(2015, 1, 1), max_value=date(2030, 12, 31))
amounts = st.integers(min_value=0, max_value=80)
closure_sets = st.sampled_from(
    [
        (),
        (AnnualClosure(12, 24, 12, 31, "Christmas closure"),),
        (
            AnnualClosure(12, 28, 1, 3, "Winter closure"),
            OneOffClosure(date(2024, 5, 7), "Training"),
        ),
        tuple(OneOffClosure(date(2020 + i, 7, 15), "Staff day") for i in range(8)),
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    start=starts,
    n=amounts,
    unit=st.sampled_from(list(Unit)),
    nation=st.sampled_from(list(Nation)),
    closures=closure_sets,
    roll=st.booleans(),
)
def test_scalar_and_vector_paths_match_the_reference(start, n, unit, nation, closures, roll):
    cal = get_calendar(nation, closures)
    expected = reference.add(start, n, unit, nation, closures, roll)
    assert cal.add(start, n, unit, roll_forward=roll) == expected
    vector = cal.add_many(
        np.array([start], dtype="datetime64[D]"), np.array([n]), unit, roll_forward=roll
    )
    assert vector[0] == np.datetime64(expected)


@settings(max_examples=50, deadline=None)
@given(
    data=st.lists(st.tuples(starts, amounts), min_size=1, max_size=200),
    nation=st.sampled_from(list(Nation)),
    unit=st.sampled_from(list(Unit)),
)
def test_vector_path_equals_scalar_path_elementwise(data, nation, unit):
    cal = get_calendar(nation)
    s = np.array([d for d, _ in data], dtype="datetime64[D]")
    n = np.array([k for _, k in data])
    got = cal.add_many(s, n, unit)
    assert [g.item() for g in got] == [cal.add(d, k, unit) for d, k in data]


@settings(max_examples=200, deadline=None)
@given(start=starts, n=st.integers(min_value=1, max_value=60), nation=st.sampled_from(list(Nation)))
def test_the_due_date_is_a_working_day_with_exactly_n_working_days_after_day_zero(start, n, nation):
    cal = get_calendar(nation)
    due = cal.add(start, n)
    assert cal.is_working_day(due)
    assert cal.working_days_between(start, due) == n


def test_day_zero_is_the_event_day():
    cal = get_calendar(Nation.ENGLAND)
    # Monday 2024-03-04: 1 working day is Tuesday, not Monday (Dodds v Walker)
    assert cal.add(date(2024, 3, 4), 1) == date(2024, 3, 5)
    assert cal.add(date(2024, 3, 4), 0) == date(2024, 3, 4)


def test_a_weekend_start_counts_from_its_calendar_date_unless_rolled():
    cal = get_calendar(Nation.ENGLAND)
    saturday = date(2024, 3, 9)
    assert cal.add(saturday, 1) == date(2024, 3, 11)
    assert cal.add(saturday, 1, roll_forward=True) == date(2024, 3, 12)
    count = cal.count(saturday, 1, roll_forward=True)
    assert count.counted_from == date(2024, 3, 11)


@pytest.mark.parametrize(
    ("start", "months", "due"),
    [
        (date(2024, 8, 31), 6, date(2025, 2, 28)),
        (date(2023, 8, 31), 6, date(2024, 2, 29)),
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2024, 3, 15), 12, date(2025, 3, 15)),
        (date(2024, 11, 30), 3, date(2025, 2, 28)),
    ],
)
def test_months_keep_the_date_and_clamp_to_month_end(start, months, due):
    cal = get_calendar(Nation.ENGLAND)
    assert cal.add(start, months, Unit.MONTHS) == due
    assert cal.count(start, months, Unit.MONTHS).clamped == (due.day != start.day)


def test_weeks_are_seven_calendar_days():
    cal = get_calendar(Nation.ENGLAND)
    assert cal.add(date(2024, 12, 18), 6, Unit.WEEKS) == date(2025, 1, 29)


def test_explanation_lists_the_days_skipped_and_why():
    cal = get_calendar(Nation.ENGLAND)
    count = cal.count(date(2024, 12, 20), 20)
    assert count.due == date(2025, 1, 22)
    assert count.skipped_text() == (
        "25 Dec (Christmas Day), 26 Dec (Boxing Day), 1 Jan (New Year's Day)"
    )
    assert {s.reason for s in count.skipped} >= {"Saturday", "Sunday"}


def test_closure_days_are_not_working_days_and_are_named():
    closures = (AnnualClosure(12, 24, 12, 31, "Christmas closure"),)
    cal = get_calendar(Nation.ENGLAND, closures)
    assert cal.non_working_reason(date(2024, 12, 27)) == "closure: Christmas closure"
    assert cal.non_working_reason(date(2024, 12, 28)) == "Saturday"
    # 23 Dec 2024 (Mon): 1 WD on is 2 Jan 2025 with 24-31 Dec closed and 1 Jan a bank holiday
    assert cal.add(date(2024, 12, 23), 1) == date(2025, 1, 2)


def test_an_annual_closure_may_wrap_the_year_end():
    closure = AnnualClosure(12, 28, 1, 3, "Winter closure")
    assert closure.covers(date(2024, 12, 30)) and closure.covers(date(2025, 1, 2))
    assert not closure.covers(date(2025, 1, 6))


def test_a_bad_annual_closure_is_refused():
    with pytest.raises(ValueError, match="month 13"):
        AnnualClosure(13, 1, 13, 2, "x")


@pytest.mark.parametrize("day", [date(1999, 12, 31), date(2041, 1, 1)])
def test_dates_outside_coverage_are_refused_with_the_range(day):
    cal = get_calendar(Nation.ENGLAND)
    with pytest.raises(OutOfCoverageError, match=r"outside the calendar's coverage \(2000-01-01"):
        cal.add(day, 5)
    with pytest.raises(OutOfCoverageError):
        cal.add_many(np.array([day], dtype="datetime64[D]"), np.array([5]))


def test_a_due_date_past_coverage_is_refused_not_guessed():
    cal = get_calendar(Nation.ENGLAND)
    with pytest.raises(OutOfCoverageError, match="2040-12-31"):
        cal.add(date(2040, 12, 20), 30)
    with pytest.raises(OutOfCoverageError):
        cal.add(date(2040, 12, 20), 1, Unit.MONTHS)


def test_negative_amounts_are_refused():
    cal = get_calendar(Nation.ENGLAND)
    with pytest.raises(CalendarError, match="0 or more"):
        cal.add(date(2024, 1, 1), -1)
    with pytest.raises(CalendarError, match="0 or more"):
        cal.add_many(np.array(["2024-01-01"], dtype="datetime64[D]"), np.array([-3]))


def test_calendars_are_cached_per_nation_and_closures():
    assert get_calendar(Nation.WALES) is get_calendar(Nation.WALES)
    assert isinstance(get_calendar(Nation.WALES), WorkingCalendar)
    assert get_calendar(Nation.WALES) is not get_calendar(Nation.SCOTLAND)
