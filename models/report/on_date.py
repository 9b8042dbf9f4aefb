"""The "on a date" counts: episodes open, CIN plans and CP plans in force on day d.

Not SQL of their own: each case open on d is folded by the census's own fold, as at d
(models/census/in_force.py), so the report, the census return and Annex A's Lists 6 and 7 count
the same episodes and plans (issue 19 point 11): a CP plan stepped down at a review
(`cp_review_held --outcome cin_plan`) ends there, and the CIN plan its next meeting starts is
counted.

The cases are read from the temporary tables (staging.py): those referred by d and not closed by
d (the closure the case state holds, as the fold reads it), with their events dated by d, visits
left out (no plan or episode starts or ends at a visit), in one ordered statement streamed a batch
at a time. The fold reads of each event its type, date, order and outcome, which report_event
holds; no other field of the payload bears on an episode or a plan being in force.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date
from itertools import groupby
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, TextClause

from models.census.in_force import in_force_on
from models.census.parts import LogEntry
from models.report.staging import bound

BATCH = 10_000


class _Payload(dict[str, Any]):
    """An event's fields as report_event holds them (its outcome): any other field reads None."""

    def __missing__(self, key: str) -> None:
        return None


def open_logs() -> TextClause:
    return bound(
        """
        SELECT c.authority, c.id, c.closed_on, ev.seq, ev.event_type, ev.occurred_on, ev.outcome
        FROM report_case c
        JOIN report_event ev ON ev.case_id = c.id
        WHERE c.referral_date <= :d AND (c.closed_on IS NULL OR c.closed_on > :d)
          AND ev.occurred_on <= :d
        ORDER BY c.id, ev.occurred_on, ev.seq
        """
    )


def in_force_counts(conn: Connection, day: date) -> dict[str, Counter[str]]:
    """Per authority: `open_cases`, `cin_plans`, `cp_plans` in force on `day`."""
    counts: dict[str, Counter[str]] = {}
    for authority, case_id, closed_on, log in _cases(conn, day):
        now = in_force_on(str(case_id), log, closed_on=closed_on, day=day)
        found = counts.setdefault(authority, Counter())
        found["open_cases"] += now.episode
        found["cin_plans"] += now.cin_plan
        found["cp_plans"] += now.cp_plan
    return counts


def _cases(conn: Connection, day: date) -> Iterator[tuple[str, Any, date | None, list[LogEntry]]]:
    rows = conn.execute(open_logs(), {"d": day}, execution_options={"yield_per": BATCH})
    for case_id, events in groupby(rows, key=itemgetter(1)):
        entries: list[LogEntry] = []
        for row in events:
            authority, closed_on = row[0], row[2]
            entries.append(LogEntry(row[3], row[4], _day(row[5]), _Payload(outcome=row[6])))
        yield authority, case_id, _day(closed_on), entries


def _day(value: Any) -> Any:
    """SQLite hands a temporary table's dates back as ISO text."""
    return date.fromisoformat(value) if isinstance(value, str) else value
