"""The "on a date" counts: episodes open, CIN plans and CP plans in force on day d.

Not SQL of their own: each case open on d is folded by the census's own fold, as at d
(models/census/in_force.py), so the report, the census return and Annex A's Lists 6 and 7 count
the same episodes and plans (issue 19 point 11): a CP plan stepped down at a review
(`cp_review_held --outcome cin_plan`) ends there, and the CIN plan its next meeting starts is
counted.

What is in force on d depends on a case's closure and on its `PLAN_EVENTS` dated by d: their
types, outcomes and order (models/census/episodes.py). The cases open on d (referred by then, not
closed by then: the closure the case state holds, as the fold reads it) are grouped in SQL by
those steps, written as one text (`icpc_held/cp_plan cp_review_held/cin_plan ...`); each distinct
history is folded once, and counts as many cases as share it. Folding 400,000 cases one by one
cost 20 s of fetching rows (bench/report_bench.py); their distinct histories are a few hundred.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import Connection, TextClause

from models.census.episodes import PLAN_EVENTS
from models.census.in_force import InForce, in_force_on
from models.census.parts import LogEntry
from models.report.staging import bound

_STEP = "ev.event_type || '/' || COALESCE(ev.outcome, '')"
_ORDER = "PARTITION BY ev.case_id ORDER BY ev.occurred_on, ev.seq"


def open_histories(dialect: str) -> TextClause:
    """Per authority, each distinct history of the cases open on d, and how many cases have it.
    A case's steps are joined in order as a window over the case (SQLite 3.40 orders no
    aggregate's input), read on its first row."""
    joined = "string_agg" if dialect == "postgresql" else "group_concat"
    kinds = ", ".join(f"'{kind}'" for kind in PLAN_EVENTS)
    return bound(
        f"""
        WITH steps AS (
            SELECT c.authority,
                   {joined}({_STEP}, ' ') OVER (
                       {_ORDER} ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
                   ) AS history,
                   ROW_NUMBER() OVER ({_ORDER}) AS n
            FROM report_case c
            JOIN report_event ev ON ev.case_id = c.id
            WHERE c.referral_date <= :d AND (c.closed_on IS NULL OR c.closed_on > :d)
              AND ev.occurred_on <= :d AND ev.event_type IN ({kinds})
        )
        SELECT authority, history, COUNT(*) AS cases
        FROM steps
        WHERE n = 1
        GROUP BY authority, history
        """
    )


class _Payload(dict[str, object]):
    """An event's fields as the history holds them (its outcome): any other field reads None."""

    def __missing__(self, key: str) -> None:
        return None


def in_force_counts(conn: Connection, day: date) -> dict[str, Counter[str]]:
    """Per authority: `open_cases`, `cin_plans`, `cp_plans` in force on `day`."""
    counts: dict[str, Counter[str]] = {}
    for authority, history, cases in conn.execute(open_histories(conn.dialect.name), {"d": day}):
        now = history_in_force(str(history), day)
        found = counts.setdefault(authority, Counter())
        found["open_cases"] += int(cases) * now.episode
        found["cin_plans"] += int(cases) * now.cin_plan
        found["cp_plans"] += int(cases) * now.cp_plan
    return counts


def history_in_force(history: str, day: date) -> InForce:
    """What is in force on `day` for a case open on it whose plan events by then are `history`
    (`type/outcome` steps, in order). Every step is dated `day`: the fold reads them in the order
    given (date, then sequence); the case is open on the day, so no closure falls by it."""
    log = [
        LogEntry(seq, kind, day, _Payload(outcome=outcome or None))
        for seq, (kind, _, outcome) in enumerate(
            (step.partition("/") for step in history.split(" ")), start=1
        )
    ]
    return in_force_on("", log, closed_on=None, day=day)
