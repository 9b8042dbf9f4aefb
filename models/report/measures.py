"""`council_reports(...)`: every measure for every authority asked for, from the SQL in queries.py.

The SQL counts; this module only names the counts (stable snake_case JSON keys,
docs/census-and-annex-a.md), turns them into percentages and rates, and puts the seeds' published
figures beside them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from time import perf_counter
from typing import Any

from sqlalchemy import Connection, TextClause, text

from models.policy.book import PolicyBook
from models.policy.timescales import TimescaleKind
from models.report import queries as q
from models.report import staging
from models.report.days import create_day_table, financial_quarter
from models.report.on_date import in_force_counts
from models.report.seeds import seed_figures

RE_REFERRAL_BANDS = ("under_1_month", "1_to_3_months", "3_to_6_months", "6_to_12_months")
CLOSURE_BANDS = ("under_3_months", "3_to_6_months", "6_to_9_months", "9_months_and_over")
EPISODE_BANDS = ("under_3_months", "under_1_year", "1_year_and_over")
# the SQL's finer bands, and which report bands each falls in
_SQL_BANDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "under_3_months": ("under_3_months", ("under_3_months", "under_1_year")),
    "3_to_6_months": ("3_to_6_months", ("under_1_year",)),
    "6_to_9_months": ("6_to_9_months", ("under_1_year",)),
    "9_to_12_months": ("9_months_and_over", ("under_1_year",)),
    "12_months_and_over": ("9_months_and_over", ("1_year_and_over",)),
}


def pct(part: int | None, whole: int | None) -> float | None:
    if not whole:
        return None
    return round(100.0 * (part or 0) / whole, 1)


def per_10k(count: int, population: int | None) -> float | None:
    return round(10_000.0 * count / population, 1) if population else None


def quarters(start: date, end: date) -> list[str]:
    found: list[str] = []
    day = start
    while day <= end:
        label = financial_quarter(day)
        if label not in found:
            found.append(label)
        day += timedelta(days=28)
    if financial_quarter(end) not in found:
        found.append(financial_quarter(end))
    return found


def council_reports(
    conn: Connection,
    book: PolicyBook,
    authorities: Sequence[str],
    start: date,
    end: date,
    timings: dict[str, float] | None = None,
) -> dict[str, dict[str, Any]]:
    """The report of each authority over [start, end]; "on a date" measures are on `end`.

    `timings`, if given, receives the seconds each statement took (bench/report_bench.py)."""
    if end < start:
        raise ValueError(f"--to: expected a date on or after --from {start}; got {end}")
    auth = list(authorities)
    params: dict[str, Any] = {"auth": auth, "s": start, "e": end, "d": end}
    clock = _Stopwatch(timings)
    if conn.dialect.name == "postgresql":
        # the transaction's own memory for hashes and sorts: at the server's default (4 MB) the
        # planner probes cases one by one for 1.7 M events instead of hashing them once
        conn.execute(text("SET LOCAL work_mem = '64MB'"))
        # ~20 short statements: compiling each (JIT) costs more than it saves
        conn.execute(text("SET LOCAL jit = off"))
    first = min(_as_date(conn.execute(q.first_referral(), {"auth": auth}).scalar()) or start, start)
    create_day_table(conn, book, auth, first, end)
    clock.lap("first_referral+report_day")
    dialect = conn.dialect.name
    uuid_type = "UUID" if dialect == "postgresql" else "CHAR(32)"
    tables = (
        ("report_case", staging.CASE_TABLE),
        ("report_event", staging.EVENT_TABLE),
        ("report_facts", staging.FACTS_TABLE),
        ("report_closed", staging.CLOSED_TABLE),
    )
    for table, create in tables:
        conn.execute(text(f"DROP TABLE IF EXISTS {table}"))
        conn.execute(text(create.format(uuid=uuid_type)))
    conn.execute(staging.fill_case_table(dialect), {"auth": auth})
    clock.lap("fill_case_table")
    _analyse(conn, "report_case")
    conn.execute(staging.fill_event_table(dialect))
    clock.lap("fill_event_table")
    _analyse(conn, "report_event")
    clock.lap("analyse report_case, report_event")
    conn.execute(staging.fill_facts_table(), params)
    clock.lap("fill_facts_table")
    _analyse(conn, "report_facts")
    conn.execute(staging.fill_closed_table(), params)
    clock.lap("fill_closed_table")
    _analyse(conn, "report_closed", "report_day")

    # rows of any width: SQLAlchemy 2.1 types `Row[Any]` as a one-column row
    def rows(measure: Callable[[], TextClause]) -> list[Any]:
        clock.lap("")
        found = list(conn.execute(measure(), params))
        clock.lap(measure.__name__)
        return found

    out = {slug: _empty(book, slug, start, end) for slug in auth}
    for a, fq, n in rows(q.referrals_by_quarter):
        out[a]["_quarters"][fq] = int(n)
    for a, referrals, re_referrals in rows(q.referrals_and_re_referrals):
        out[a]["referrals_total"] = int(referrals)
        out[a]["re_referrals_12m"] = int(re_referrals or 0)
    for a, band, n in rows(q.re_referral_intervals):
        out[a]["re_referrals_by_interval"][band] = int(n)
    for a, decided, nfa in rows(q.referral_decisions):
        out[a]["referrals_decided"] = int(decided)
        out[a]["nfa_after_referral"] = int(nfa or 0)
    for a, completed, within in rows(q.assessments_45wd):
        out[a]["assessments_completed"] = int(completed)
        out[a]["assessments_within_45wd"] = int(within or 0)
    for a, answered, on_time in rows(q.assessments_local_target):
        out[a]["assessments_against_local_target"] = int(answered)
        out[a]["assessments_within_local_target"] = int(on_time or 0)
    for a, band, n, early in rows(q.closures):
        report = out[a]
        closure_band, episode_bands = _SQL_BANDS[band]
        report["closures_by_duration"][closure_band] += int(n)
        for episode_band in episode_bands:
            report["episodes_ended"][episode_band] += int(n)
        report["closures_total"] += int(n)
        report["closures_to_early_help"] += int(early or 0)
    for a, plans, shortest, longest, total, mid_sum, mid_n in rows(q.plan_durations):
        out[a]["cin_plan_duration"] = {
            "plans": int(plans),
            "median_days": round(float(mid_sum) / int(mid_n), 1),
            "mean_days": round(float(total) / int(plans), 1),
            "shortest_days": int(shortest),
            "longest_days": int(longest),
        }
    clock.lap("")
    for a, counts in in_force_counts(conn, end).items():
        out[a]["open_cases_on_date"] = counts["open_cases"]
        out[a]["open_cin_plans_on_date"] = counts["cin_plans"]
        out[a]["open_cp_plans_on_date"] = counts["cp_plans"]
    clock.lap("in_force_counts (the census fold)")
    for a, started, repeats in rows(q.cp_plans_started):
        out[a]["cp_plans_started"] = int(started)
        out[a]["repeat_cp_plans"] = int(repeats or 0)
    for a, cases, workers in rows(q.caseload):
        out[a]["allocated_open_cases"] = int(cases)
        out[a]["allocated_workers"] = int(workers)
    for a, kind, n in rows(q.overdue_on_date):
        out[a]["overdue_deadlines_by_kind"][kind] = int(n)
    for a, kind, n in rows(q.missed_in_period):
        out[a]["missed_deadlines_by_kind"][kind] = int(n)
    return {slug: _finish(report) for slug, report in out.items()}


class _Stopwatch:
    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings = timings
        self.last = perf_counter()

    def lap(self, name: str) -> None:
        now = perf_counter()
        if self.timings is not None and name:
            self.timings[name] = self.timings.get(name, 0.0) + now - self.last
        self.last = now


def _analyse(conn: Connection, *tables: str) -> None:
    """PostgreSQL's autovacuum never analyses temporary tables; without statistics the planner
    guesses their size and can choose a nested loop over thousands of rows."""
    if conn.dialect.name == "postgresql":
        for table in tables:
            conn.execute(text(f"ANALYZE {table}"))


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _empty(book: PolicyBook, slug: str, start: date, end: date) -> dict[str, Any]:
    timeline = book.authority(slug)
    try:
        local = timeline.on(end).timescales.get(TimescaleKind.ASSESSMENT_COMPLETED)
    except ValueError:
        local = None
    population = timeline.policy.population_for(end.year)
    return {
        "authority": slug,
        "name": timeline.name,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "on_date": end.isoformat(),
        "_quarters": dict.fromkeys(quarters(start, end), 0),
        "referrals_total": 0,
        "referrals_decided": 0,
        "nfa_after_referral": 0,
        "assessments_completed": 0,
        "assessments_within_45wd": 0,
        "assessments_local_target": (
            f"{local.amount} {local.unit.value} ({local.cited})" if local else None
        ),
        "assessments_against_local_target": 0,
        "assessments_within_local_target": 0,
        "re_referrals_12m": 0,
        "re_referrals_by_interval": dict.fromkeys(RE_REFERRAL_BANDS, 0),
        "closures_total": 0,
        "closures_by_duration": dict.fromkeys(CLOSURE_BANDS, 0),
        "episodes_ended": dict.fromkeys(EPISODE_BANDS, 0),
        "closures_to_early_help": 0,
        "cin_plan_duration": {
            "plans": 0,
            "median_days": None,
            "mean_days": None,
            "shortest_days": None,
            "longest_days": None,
        },
        "open_cases_on_date": 0,
        "open_cin_plans_on_date": 0,
        "open_cp_plans_on_date": 0,
        "cp_plans_started": 0,
        "repeat_cp_plans": 0,
        "allocated_open_cases": 0,
        "allocated_workers": 0,
        "overdue_deadlines_by_kind": {},
        "missed_deadlines_by_kind": {},
        "child_population": population[1] if population else None,
        "child_population_year": population[0] if population else None,
    }


def _finish(r: dict[str, Any]) -> dict[str, Any]:
    r["referrals_per_quarter"] = [
        {"quarter": label, "referrals": n} for label, n in r.pop("_quarters").items()
    ]
    r["nfa_after_referral_pct"] = pct(r["nfa_after_referral"], r["referrals_decided"])
    r["assessments_within_45wd_pct"] = pct(r["assessments_within_45wd"], r["assessments_completed"])
    r["assessments_within_local_target_pct"] = pct(
        r["assessments_within_local_target"], r["assessments_against_local_target"]
    )
    r["re_referrals_12m_pct"] = pct(r["re_referrals_12m"], r["referrals_total"])
    intervals = r["re_referrals_by_interval"]
    interval_total = sum(intervals[b] for b in RE_REFERRAL_BANDS)
    for band in RE_REFERRAL_BANDS:
        intervals[f"{band}_pct"] = pct(intervals[band], interval_total)
    closures = r["closures_total"]
    for band in CLOSURE_BANDS:
        r["closures_by_duration"][f"{band}_pct"] = pct(r["closures_by_duration"][band], closures)
    for band in EPISODE_BANDS:
        r["episodes_ended"][f"{band}_pct"] = pct(r["episodes_ended"][band], closures)
    r["closures_to_early_help_pct"] = pct(r["closures_to_early_help"], closures)
    r["repeat_cp_plans_pct"] = pct(r["repeat_cp_plans"], r["cp_plans_started"])
    workers = r["allocated_workers"]
    r["caseload_per_allocated_worker"] = (
        round(r["allocated_open_cases"] / workers, 1) if workers else None
    )
    r["overdue_deadlines_by_kind"] = dict(sorted(r["overdue_deadlines_by_kind"].items()))
    r["overdue_deadlines_total"] = sum(r["overdue_deadlines_by_kind"].values())
    r["missed_deadlines_by_kind"] = dict(sorted(r["missed_deadlines_by_kind"].items()))
    r["missed_deadlines_total"] = sum(r["missed_deadlines_by_kind"].values())
    population = r["child_population"]
    r["referrals_per_10k"] = per_10k(r["referrals_total"], population)
    r["cin_per_10k"] = per_10k(r["open_cases_on_date"], population)
    r["cp_plans_per_10k"] = per_10k(r["open_cp_plans_on_date"], population)
    return r


def seeds_beside() -> dict[str, list[dict[str, Any]]]:
    """Every seed figure, keyed by the measure (or "measure.band") it sits beside."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for figure in seed_figures():
        grouped[figure.measure].append(figure.as_json())
    return dict(grouped)
