"""The temporary tables the report's measures read (queries.py), and how a statement is bound.

`report_case` (the authorities' cases, narrow), `report_event` (their events without visits, with
the outcome and reason some measure reads taken out of the JSON once: the only text that differs
between SQLite and PostgreSQL), `report_facts` (one row per case: how it closed, its plan's start,
its referral decisions) and `report_closed` (the cases that closed in the period). `bound` types the
bind parameters every statement shares: `:auth` (expanding), `:s`, `:e` and `:d` (dates).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BindParameter, Date, TextClause, bindparam, text

# Full calendar months from day a to day b (days.py).
MONTHS = "(b.mi - a.mi - CASE WHEN b.dom < a.dom THEN 1 ELSE 0 END)"


def json_field(dialect: str, column: str, field: str) -> str:
    if dialect == "postgresql":
        return f"({column} ->> '{field}')"
    return f"json_extract({column}, '$.{field}')"


def bound(sql: str) -> TextClause:
    # typed dates: SQLite keeps dates as ISO text, PostgreSQL as dates; the type converts for both
    dates = [bindparam(name, type_=Date) for name in ("s", "e", "d") if f":{name}" in sql]
    authorities: list[BindParameter[Any]] = (
        [bindparam("auth", expanding=True)] if ":auth" in sql else []
    )
    return text(sql).bindparams(*authorities, *dates)


CLOSED_TABLE = """
    CREATE TEMPORARY TABLE report_closed (
        id {uuid} NOT NULL,
        authority VARCHAR(64) NOT NULL,
        opened DATE NOT NULL,
        closed_on DATE NOT NULL,
        early_help INTEGER NOT NULL,
        plan_start DATE
    )"""


def fill_facts_table() -> TextClause:
    """One pass over the authorities' events, grouped by case: what the closure and plan measures
    need of each case (how it closed, its plan's start, whether it opened with a referral, and its
    referral decisions). When it closed is the case state's (`report_case.closed_on`), not its
    latest event's date. What is in force on day d is the census fold's
    (on_date.py).

    A closure to early help is told by the event that made it, whichever reason code it carries:
    each of these events only ever closes a case, so the case has one exactly when it closed that
    way (README, "Reports").
    """
    return bound(
        """
        INSERT INTO report_facts (id, early_help, plan_start, referred, decided, nfa)
        SELECT ev.case_id,
               MAX(CASE WHEN (ev.event_type = 'referral_decision' AND ev.outcome = 'early_help')
                          OR (ev.event_type = 'assessment_completed'
                              AND ev.outcome = 'step_down')
                          OR ev.event_type = 'final_meeting_held'
                          OR (ev.event_type = 'case_closed' AND ev.reason = 'RC9')
                        THEN 1 ELSE 0 END),
               MIN(CASE WHEN ev.event_type = 'cin_meeting_held' THEN ev.occurred_on END),
               MAX(CASE WHEN ev.seq = 1 AND ev.event_type = 'referral_received'
                        THEN 1 ELSE 0 END),
               SUM(CASE WHEN ev.event_type = 'referral_decision' THEN 1 ELSE 0 END),
               SUM(CASE WHEN ev.event_type = 'referral_decision'
                             AND ev.outcome IN ('nfa', 'early_help')
                        THEN 1 ELSE 0 END)
        FROM report_event ev
        GROUP BY ev.case_id
        """
    )


def fill_closed_table() -> TextClause:
    """Closed cases whose closure falls in the period, kept in a temporary table (analysed) that
    the closure and plan measures read.

    The closure is the date the case state holds (`report_case.closed_on`), which the census
    return writes as CINclosureDate (models/census/episodes.py): an assessment completed with no
    further action (or a step down) on D and authorised by the manager on D+3 closes the case on
    D+3 (issue 19 point 3), although its latest event is dated D. Dating the closure by the latest
    event counted such a case in the wrong period, or in the wrong duration band, whenever the
    authorisation fell after a month's or a period's end."""
    return bound(
        """
        INSERT INTO report_closed (id, authority, opened, closed_on, early_help, plan_start)
        SELECT c.id, c.authority, c.referral_date, c.closed_on, f.early_help, f.plan_start
        FROM report_case c
        JOIN report_facts f ON f.id = c.id
        WHERE c.stage = 'closed' AND c.closed_on BETWEEN :s AND :e
        """
    )


# the events whose outcome (or reason) some measure reads; report_event holds NULL for the rest
OUTCOME_READ = "'referral_decision', 'assessment_completed', 'icpc_held', 'cp_review_held'"
REASON_READ = "'case_closed'"

CASE_TABLE = """
    CREATE TEMPORARY TABLE report_case (
        id {uuid} NOT NULL,
        authority VARCHAR(64) NOT NULL,
        child_ref VARCHAR(64) NOT NULL,
        referral_date DATE NOT NULL,
        stage VARCHAR(32) NOT NULL,
        re_referral BOOLEAN NOT NULL,
        worker_id VARCHAR(64),
        closed_on DATE
    )"""

FACTS_TABLE = """
    CREATE TEMPORARY TABLE report_facts (
        id {uuid} NOT NULL,
        early_help INTEGER NOT NULL,
        plan_start DATE,
        referred INTEGER NOT NULL,
        decided INTEGER NOT NULL,
        nfa INTEGER NOT NULL
    )"""


def fill_case_table(dialect: str) -> TextClause:
    """The authorities' cases, narrow (no state): every measure joins these instead of the case
    table, whose rows carry each case's state. `closed_on` is the closure the case state holds,
    which the census fold reads too (models/census/in_force.py); only a closed case's state is
    parsed for it."""
    closed_on = json_field(dialect, "c.state", "closed_on")
    if dialect == "postgresql":
        closed_on = f"CAST({closed_on} AS DATE)"  # SQLite keeps dates as ISO text already
    return bound(
        f"""
        INSERT INTO report_case (id, authority, child_ref, referral_date, stage, re_referral,
                                 worker_id, closed_on)
        SELECT c.id, c.authority, c.child_ref, c.referral_date, c.stage, c.re_referral,
               c.worker_id, CASE WHEN c.stage = 'closed' THEN {closed_on} END
        FROM "case" c
        WHERE c.authority IN :auth
        """
    )


EVENT_TABLE = """
    CREATE TEMPORARY TABLE report_event (
        case_id {uuid} NOT NULL,
        seq INTEGER NOT NULL,
        event_type VARCHAR(32) NOT NULL,
        occurred_on DATE NOT NULL,
        outcome VARCHAR(32),
        reason VARCHAR(8)
    )"""


def fill_event_table(dialect: str) -> TextClause:
    """The authorities' events with their outcome and reason read out of the JSON once, leaving
    out visits: no measure counts them and they are most of the log (and never close a case)."""
    outcome = json_field(dialect, "e.payload", "outcome")
    reason = json_field(dialect, "e.payload", "reason")
    # Only the outcomes and reasons a measure reads are read out of the JSON (half the rows):
    # parsing every event's payload was a third of the report's time over 8 M events.
    return bound(
        f"""
        INSERT INTO report_event (case_id, seq, event_type, occurred_on, outcome, reason)
        SELECT e.case_id, e.seq, e.event_type, e.occurred_on,
               CASE WHEN e.event_type IN ({OUTCOME_READ}) THEN {outcome} END,
               CASE WHEN e.event_type IN ({REASON_READ}) THEN {reason} END
        FROM case_event e
        JOIN report_case c ON c.id = e.case_id
        WHERE e.event_type <> 'visit_recorded'
        """
    )
