"""A temporary table of days, so date arithmetic is a join and reads the same on every database.

One row per (authority, day) over the report's span: the working-day ordinal on the authority's own
calendar (its nation's bank holidays and closure days), the month index and day of month (for
"full calendar months between"), and the financial quarter (April-June is Q1, as Stockton's
committee report counts them, 001 s3.1). SQLite and PostgreSQL disagree on date functions; they
agree on joins, so every measure joins this table instead of calling one.

    days from a to b          = dn(b) - dn(a)
    working days from a to b  = wd(b) - wd(a)          (day 0 = a; Christmas and closures skipped)
    full months from a to b   = mi(b) - mi(a) - (1 if dom(b) < dom(a) else 0)
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from sqlalchemy import Column, Connection, Date, Integer, MetaData, String, Table

from calendars import WorkingCalendar
from models.policy.book import PolicyBook

_META = MetaData()
REPORT_DAY = Table(
    "report_day",
    _META,
    Column("authority", String(64), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("dn", Integer, nullable=False),  # the day's ordinal: dn(b) - dn(a) is days between
    Column("wd", Integer, nullable=False),  # working days on or before `day` since the span began
    Column("mi", Integer, nullable=False),  # year * 12 + month - 1
    Column("dom", Integer, nullable=False),  # day of month
    Column("fq", String(12), nullable=False),  # financial quarter: "2024-25 Q1"
    prefixes=["TEMPORARY"],
)


def financial_quarter(day: date) -> str:
    """April-June is Q1 of the financial year that starts that April (001 s3.1)."""
    start_year = day.year if day.month >= 4 else day.year - 1
    quarter = (day.month - 4) % 12 // 3 + 1
    return f"{start_year}-{(start_year + 1) % 100:02d} Q{quarter}"


def day_rows(
    book: PolicyBook, authorities: Iterable[str], first: date, last: date
) -> list[dict[str, object]]:
    """The rows of `report_day` for `authorities` from `first` to `last` inclusive."""
    rows: list[dict[str, object]] = []
    national = book.authority("national")
    for slug in authorities:
        timeline = book.authority(slug)
        # a calendar per policy version in force (resolving a policy for every day is slow)
        calendars: dict[tuple[str, int], WorkingCalendar] = {}
        ordinal = 0
        day = first
        while day <= last:
            version = timeline.policy.in_force(day)
            # no policy version in force: the national calendar of its nation
            source = timeline if version is not None else national
            in_force = version or national.policy.in_force(day)
            key = (source.slug, in_force.version if in_force else 0)
            calendar = calendars.get(key)
            if calendar is None:
                calendar = calendars[key] = source.on(day).calendar
            if calendar.is_working_day(day):
                ordinal += 1
            rows.append(
                {
                    "authority": slug,
                    "day": day,
                    "dn": day.toordinal(),
                    "wd": ordinal,
                    "mi": day.year * 12 + day.month - 1,
                    "dom": day.day,
                    "fq": financial_quarter(day),
                }
            )
            day += timedelta(days=1)
    return rows


def create_day_table(
    conn: Connection, book: PolicyBook, authorities: Iterable[str], first: date, last: date
) -> None:
    """Create (or refill) the connection's temporary `report_day` table."""
    REPORT_DAY.drop(conn, checkfirst=True)
    REPORT_DAY.create(conn)
    rows = day_rows(book, authorities, first, last)
    if rows:
        conn.execute(REPORT_DAY.insert(), rows)
