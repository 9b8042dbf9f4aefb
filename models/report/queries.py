"""The measures as SQL over the event log, the case rows and the deadline rows: set-at-a-time.

Every query is grouped by authority, so one report and the comparison of every council are the
same statements. They read temporary tables filled first: `report_case`, `report_event` (the
authorities' events without visits, with the outcome and reason that measures read out of the
JSON once: the only text that differs between SQLite and PostgreSQL), `report_facts` and
`report_closed` (staging.py, which also binds the parameters), and `report_day` (days.py), on
which date arithmetic is a join. That is what lets one text run unchanged on both databases.

Bind parameters: `:auth` (the authorities, expanding), `:s` and `:e` (the period, inclusive),
`:d` (the "on a date" day, the period's end).

A case is one episode. It closed when its stage is `closed`, on the date its state holds: the
census return's CINclosureDate (an NFA authorised days after the assessment completed closes on the
authorisation, not on its latest event's date). How it closed (to early help or not) is read from
the events that closed it, not from the closure reason, which another lifecycle revision may spell
differently.
"""

from __future__ import annotations

from sqlalchemy import TextClause

from models.report.staging import MONTHS, bound


def referrals_by_quarter() -> TextClause:
    return bound(
        """
        SELECT c.authority, d.fq, COUNT(*) AS n
        FROM report_event ev
        JOIN report_case c ON c.id = ev.case_id
        JOIN report_day d ON d.authority = c.authority AND d.day = ev.occurred_on
        WHERE ev.event_type = 'referral_received'
          AND ev.occurred_on BETWEEN :s AND :e
        GROUP BY c.authority, d.fq
        """
    )


def referrals_and_re_referrals() -> TextClause:
    return bound(
        """
        SELECT c.authority, COUNT(*) AS referrals,
               SUM(CASE WHEN c.re_referral THEN 1 ELSE 0 END) AS re_referrals
        FROM report_case c
        JOIN report_facts f ON f.id = c.id
        WHERE f.referred = 1
          AND c.referral_date BETWEEN :s AND :e
        GROUP BY c.authority
        """
    )


def re_referral_intervals() -> TextClause:
    """Each re-referral in the period against the child's latest earlier referral."""
    return bound(
        f"""
        WITH prev AS (
            SELECT c.id, c.authority, c.referral_date AS this_day,
                   MAX(p.referral_date) AS prev_day
            FROM report_case c
            JOIN report_facts f ON f.id = c.id
            JOIN report_case p ON p.authority = c.authority AND p.child_ref = c.child_ref
                         AND p.referral_date < c.referral_date
            WHERE c.re_referral
              AND f.referred = 1
              AND c.referral_date BETWEEN :s AND :e
            GROUP BY c.id, c.authority, c.referral_date
        )
        SELECT prev.authority,
               CASE WHEN {MONTHS} < 1 THEN 'under_1_month'
                    WHEN {MONTHS} < 3 THEN '1_to_3_months'
                    WHEN {MONTHS} < 6 THEN '3_to_6_months'
                    ELSE '6_to_12_months' END AS band,
               COUNT(*) AS n
        FROM prev
        JOIN report_day a ON a.authority = prev.authority AND a.day = prev.prev_day
        JOIN report_day b ON b.authority = prev.authority AND b.day = prev.this_day
        GROUP BY prev.authority, band
        """
    )


def referral_decisions() -> TextClause:
    """Referral decisions (events) on the cases referred in the period, and those that were no
    further action (or early help); counted per case in report_facts."""
    return bound(
        """
        SELECT c.authority, SUM(f.decided) AS decided, SUM(f.nfa) AS nfa
        FROM report_facts f
        JOIN report_case c ON c.id = f.id
        WHERE f.decided > 0 AND c.referral_date BETWEEN :s AND :e
        GROUP BY c.authority
        """
    )


def assessments_45wd() -> TextClause:
    return bound(
        """
        SELECT c.authority, COUNT(*) AS completed,
               SUM(CASE WHEN b.wd - a.wd <= 45 THEN 1 ELSE 0 END) AS within
        FROM report_event ev
        JOIN report_case c ON c.id = ev.case_id
        JOIN report_day a ON a.authority = c.authority AND a.day = c.referral_date
        JOIN report_day b ON b.authority = c.authority AND b.day = ev.occurred_on
        WHERE ev.event_type = 'assessment_completed'
          AND ev.occurred_on BETWEEN :s AND :e
        GROUP BY c.authority
        """
    )


def assessments_local_target() -> TextClause:
    return bound(
        """
        SELECT c.authority, COUNT(*) AS answered,
               SUM(CASE WHEN dl.status = 'met' THEN 1 ELSE 0 END) AS on_time
        FROM deadline dl
        JOIN report_case c ON c.id = dl.case_id
        WHERE dl.kind = 'assessment_completed'
          AND dl.status IN ('met', 'met_late') AND dl.met_on BETWEEN :s AND :e
        GROUP BY c.authority
        """
    )


def closures() -> TextClause:
    """Closures in the period by full months open, and how many went to early help."""
    return bound(
        f"""
        SELECT closed.authority,
               CASE WHEN {MONTHS} < 3 THEN 'under_3_months'
                    WHEN {MONTHS} < 6 THEN '3_to_6_months'
                    WHEN {MONTHS} < 9 THEN '6_to_9_months'
                    WHEN {MONTHS} < 12 THEN '9_to_12_months'
                    ELSE '12_months_and_over' END AS band,
               COUNT(*) AS n, SUM(closed.early_help) AS early_help
        FROM report_closed closed
        JOIN report_day a ON a.authority = closed.authority AND a.day = closed.opened
        JOIN report_day b ON b.authority = closed.authority AND b.day = closed.closed_on
        GROUP BY closed.authority, band
        """
    )


def plan_durations() -> TextClause:
    """CIN plans that ended in the period: from the first CIN meeting to the case's closure."""
    return bound(
        """
        WITH plans AS (
            SELECT authority, closed_on, plan_start AS started FROM report_closed
            WHERE plan_start IS NOT NULL
        ),
        days AS (
            SELECT plans.authority, b.dn - a.dn AS days,
                   ROW_NUMBER() OVER (PARTITION BY plans.authority ORDER BY b.dn - a.dn) AS rn,
                   COUNT(*) OVER (PARTITION BY plans.authority) AS n
            FROM plans
            JOIN report_day a ON a.authority = plans.authority AND a.day = plans.started
            JOIN report_day b ON b.authority = plans.authority AND b.day = plans.closed_on
        )
        SELECT authority, MAX(n) AS plans, MIN(days) AS shortest, MAX(days) AS longest,
               SUM(days) AS total,
               SUM(CASE WHEN rn IN ((n + 1) / 2, (n + 2) / 2) THEN days ELSE 0 END) AS mid_sum,
               SUM(CASE WHEN rn IN ((n + 1) / 2, (n + 2) / 2) THEN 1 ELSE 0 END) AS mid_n
        FROM days
        GROUP BY authority
        """
    )


def cp_plans_started() -> TextClause:
    """CP plans started in the period, and those for a child whose first CP plan (in any of the
    authority's cases) was earlier: a repeat."""
    return bound(
        """
        WITH cp AS (
            SELECT c.authority, c.child_ref, e.occurred_on
            FROM report_event e
            JOIN report_case c ON c.id = e.case_id
            WHERE e.event_type = 'icpc_held' AND e.outcome = 'cp_plan'
        ),
        firsts AS (
            SELECT authority, child_ref, MIN(occurred_on) AS first_on
            FROM cp GROUP BY authority, child_ref
        )
        SELECT cp.authority, COUNT(*) AS started,
               SUM(CASE WHEN cp.occurred_on > firsts.first_on THEN 1 ELSE 0 END) AS repeats
        FROM cp
        JOIN firsts ON firsts.authority = cp.authority AND firsts.child_ref = cp.child_ref
        WHERE cp.occurred_on BETWEEN :s AND :e
        GROUP BY cp.authority
        """
    )


def caseload() -> TextClause:
    """On day d: cases open (referred by d and not closed by then: the closure the case state
    holds, as on_date.py reads it) and allocated, and the workers holding them, each case counted
    under its latest dated allocation on or before d (`case_allocation`, issue 22; ties on a day
    go to the later recorded)."""
    return bound(
        """
        SELECT held.authority, SUM(held.cases) AS cases, COUNT(*) AS workers
        FROM (
            SELECT c.authority, a.worker_id, COUNT(*) AS cases
            FROM report_case c
            JOIN case_allocation a ON a.case_id = c.id AND a.allocated_on <= :d
            WHERE c.referral_date <= :d AND (c.closed_on IS NULL OR c.closed_on > :d)
              AND NOT EXISTS (
                  SELECT 1 FROM case_allocation later
                  WHERE later.case_id = a.case_id AND later.allocated_on <= :d
                    AND (later.allocated_on > a.allocated_on
                         OR (later.allocated_on = a.allocated_on AND later.id > a.id)))
            GROUP BY c.authority, a.worker_id
        ) held
        GROUP BY held.authority
        """
    )


def overdue_on_date() -> TextClause:
    """Deadlines overdue on day d: opened by an event dated on or before d, due before d, and
    not met or cancelled by an event dated on or before d.

    Two kinds qualify, counted apart so that neither reads the whole log: deadlines still open
    (no closing event at all), and deadlines closed by an event dated after d, found from those
    events (ix_case_event_occurred_on: few, when d is the period's end). A closed deadline's
    `closed_seq` names the event that closed it, written in the same transaction."""
    return bound(
        """
        WITH overdue AS (
            SELECT dl.case_id, dl.kind
            FROM deadline dl
            JOIN case_event o ON o.case_id = dl.case_id AND o.seq = dl.opened_seq
            WHERE dl.closed_seq IS NULL AND dl.due < :d AND o.occurred_on <= :d
            UNION ALL
            SELECT dl.case_id, dl.kind
            FROM case_event x
            JOIN deadline dl ON dl.case_id = x.case_id AND dl.closed_seq = x.seq
            JOIN case_event o ON o.case_id = dl.case_id AND o.seq = dl.opened_seq
            WHERE x.occurred_on > :d AND dl.due < :d AND o.occurred_on <= :d
        )
        SELECT c.authority, overdue.kind, COUNT(*) AS n
        FROM overdue
        JOIN report_case c ON c.id = overdue.case_id
        GROUP BY c.authority, overdue.kind
        """
    )


def missed_in_period() -> TextClause:
    """Deadlines due in the period (before d) and not met by their due date, whatever happened
    later (issue 19 point 5): met late, closed `unmet` (the case moved on after the due date:
    plan copies superseded by the next meeting, a closure), or still owed. Opened by an event
    dated on or before d, as for the overdue count. A clock cancelled before its due date was
    never missed."""
    return bound(
        """
        SELECT c.authority, dl.kind, COUNT(*) AS n
        FROM deadline dl
        JOIN report_case c ON c.id = dl.case_id
        JOIN case_event o ON o.case_id = dl.case_id AND o.seq = dl.opened_seq
        WHERE dl.due BETWEEN :s AND :e AND dl.due < :d AND o.occurred_on <= :d
          AND (dl.status IN ('met_late', 'unmet') OR dl.closed_seq IS NULL)
        GROUP BY c.authority, dl.kind
        """
    )


def first_referral() -> TextClause:
    """The earliest day any measure joins to the day table (every other day joined is between a
    case's referral and the period's end)."""
    return bound('SELECT MIN(c.referral_date) FROM "case" c WHERE c.authority IN :auth')
