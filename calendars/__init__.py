"""UK working-day calendars: bank holidays by nation, authority closure days, counting rules."""

from calendars.types import (
    AnnualClosure,
    Closure,
    Count,
    Nation,
    OneOffClosure,
    SkippedDay,
    Unit,
)
from calendars.working import (
    COVERAGE_END,
    COVERAGE_START,
    CalendarError,
    OutOfCoverageError,
    WorkingCalendar,
    add_months,
    get_calendar,
)

__all__ = [
    "COVERAGE_END",
    "COVERAGE_START",
    "AnnualClosure",
    "CalendarError",
    "Closure",
    "Count",
    "Nation",
    "OneOffClosure",
    "OutOfCoverageError",
    "SkippedDay",
    "Unit",
    "WorkingCalendar",
    "add_months",
    "get_calendar",
]
