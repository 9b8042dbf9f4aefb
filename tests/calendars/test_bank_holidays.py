"""Table tests: each nation's own days and the substitute and one-off days of recent years."""

from __future__ import annotations

from datetime import date

import pytest

from calendars import Nation, get_calendar

ALL = list(Nation)

# (date, nations where it is NOT a working day, what it is)
NON_WORKING = [
    (date(2020, 5, 8), ALL, "Early May bank holiday moved to VE Day's 75th anniversary"),
    (date(2021, 12, 27), ALL, "Christmas Day substitute"),
    (date(2021, 12, 28), ALL, "Boxing Day substitute"),
    (date(2022, 6, 3), ALL, "Platinum Jubilee"),
    (date(2022, 9, 19), ALL, "State Funeral of Queen Elizabeth II"),
    (date(2022, 12, 27), ALL, "Christmas Day substitute"),
    (date(2023, 5, 8), ALL, "Coronation of King Charles III"),
    (date(2024, 1, 2), [Nation.SCOTLAND], "2 January (Scotland)"),
    (date(2024, 8, 5), [Nation.SCOTLAND], "Summer bank holiday, first Monday in August (Scotland)"),
    (date(2024, 12, 2), [Nation.SCOTLAND], "St Andrew's Day substitute (30 Nov was a Saturday)"),
    (date(2024, 3, 18), [Nation.NORTHERN_IRELAND], "St Patrick's Day substitute (17th a Sunday)"),
    (date(2024, 7, 12), [Nation.NORTHERN_IRELAND], "Battle of the Boyne"),
    (date(2024, 4, 1), [Nation.ENGLAND, Nation.WALES, Nation.NORTHERN_IRELAND], "Easter Monday"),
    (date(2024, 8, 26), [Nation.ENGLAND, Nation.WALES, Nation.NORTHERN_IRELAND], "Late summer"),
]


@pytest.mark.parametrize(("day", "closed_in", "what"), NON_WORKING)
def test_named_days_by_nation(day, closed_in, what):
    for nation in Nation:
        cal = get_calendar(nation)
        assert cal.is_working_day(day) == (nation not in closed_in), (nation, what)
        if nation in closed_in:
            assert cal.non_working_reason(day)


@pytest.mark.parametrize(
    ("start", "n", "nation", "due"),
    [
        # Fri 2021-12-24: Mon 27 and Tue 28 are substitutes, so 1 WD is Wed 29
        (date(2021, 12, 24), 1, Nation.ENGLAND, date(2021, 12, 29)),
        # Thu 2022-06-01: Thu 2 and Fri 3 (Jubilee) off, so 1 WD is Mon 6
        (date(2022, 6, 1), 1, Nation.WALES, date(2022, 6, 6)),
        (date(2022, 9, 16), 1, Nation.ENGLAND, date(2022, 9, 20)),
        (date(2023, 5, 5), 1, Nation.ENGLAND, date(2023, 5, 9)),
        (date(2020, 5, 7), 1, Nation.ENGLAND, date(2020, 5, 11)),
        # Scotland: 1 and 2 Jan 2024 are both holidays; England works on the 2nd
        (date(2023, 12, 29), 1, Nation.SCOTLAND, date(2024, 1, 3)),
        (date(2023, 12, 29), 1, Nation.ENGLAND, date(2024, 1, 2)),
        # Northern Ireland: 12 July 2024 (Friday) is the Battle of the Boyne
        (date(2024, 7, 11), 1, Nation.NORTHERN_IRELAND, date(2024, 7, 15)),
        (date(2024, 7, 11), 1, Nation.ENGLAND, date(2024, 7, 12)),
    ],
)
def test_deadlines_across_those_days(start, n, nation, due):
    assert get_calendar(nation).add(start, n) == due
