"""The deadline monitor's pass over England's whole CIN population, on PostgreSQL.

The target (issue): one monitor pass over 403,090 open cases (England's whole CIN population)
with their open deadlines completes in under 10 s on this machine, and its time grows with the
number of due items, not the number of cases.

`bench/monitor_load.py` COPYs the caseload into a fresh database (`cin_monitor_bench`): every case
allocated, its open deadlines as the lifecycle leaves them, ~3 closed ones each, a few hundred
open drift findings; `--overdue` of the open deadlines past due, ~1% due within 2 working days.
Then `notifications.monitor.run_pass` (digests composed, nothing sent) is timed:

1. pass 1 on 2025-06-10 (the first pass ever: every due item is marked, alerted, digested);
2. pass 2 on the next working day (steady state: most items already marked);
3. pass 2 again, the same day (nothing new: the query and the decisions alone);
4. references from the same run: the same pass over a database of a quarter of the cases with the
   same due items (time ratio ~1 if the cost follows due items, not cases), and over the full
   database with twice the due items (ratio ~2 if it grows with them).

Each pass's time is split by phase (the module's functions are wrapped with timers while it
runs); the due-items query's plan is printed from `EXPLAIN (ANALYZE, BUFFERS)`.

    python bench/monitor_bench.py [--cases 403090] [--overdue 0.02] [--skip-scaling] [--keep]
    python bench/monitor_bench.py --profile      # also pass 1 again under cProfile
    python bench/monitor_bench.py --deliver      # also messages/s through a local SMTP server
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, TextClause, create_engine, func, select, text
from sqlmodel import col

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.monitor_load import REPO, Loaded, drop_database, load  # noqa: E402
from bench.monitor_phases import show, timed_pass  # noqa: E402
from bench.monitor_world import AS_OF, LoadSpec  # noqa: E402
from models.alerts.store import due_items  # noqa: E402
from models.policy.book import PolicyBook, load_policy_dir  # noqa: E402
from models.tables import Alert, Dispatch  # noqa: E402
from notifications import monitor  # noqa: E402
from notifications.ladder import soon_horizon  # noqa: E402
from notifications.monitor import MonitorConfig, run_pass  # noqa: E402

ENGLAND_CIN = 403_090  # England's children in need (the figure)
TARGET_SECONDS = 10.0
DELIVER_SAMPLE = 1000  # dispatches sent per thread setting with --deliver
SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/"
NEXT_DAY = date(2025, 6, 11)  # the working day after AS_OF
OPEN_PER_CASE = 2.3  # open deadlines a case has on average under the loader's stage mix
UI_URL = "http://127.0.0.1:4200"
TEAMS_URL = "workflows://teams.example.org:443/{team}/SIG/?pa=yes"


def config_for(loaded: Loaded, teams: bool) -> MonitorConfig:
    environ: dict[str, str] = {}
    if teams:
        environ["CIN_TEAMS_URLS"] = json.dumps(
            {f"{a}/{t}": TEAMS_URL.format(team=t) for a, t in loaded.team_names()}
        )
    return MonitorConfig(ui_url=UI_URL, smtp_url=None, deliver=False, digests=True, environ=environ)


# -- the query's plan ---------------------------------------------------------------------------


class _Recorder:
    """Stands in for a Session: keeps the statements `due_items` builds (its planner settings
    too), returns no rows."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.statements: list[Any] = []

    def get_bind(self) -> Engine:
        return self.engine

    def execute(self, statement: Any) -> _Recorder:
        self.statements.append(statement)
        return self

    def all(self) -> list[Any]:
        return []


def horizon_on(book: PolicyBook, as_of: date, config: MonitorConfig) -> date:
    views = monitor._policies_on(book, as_of)
    return max(soon_horizon(v, as_of, config.soon_working_days) for v in views.values())


def explain(engine: Engine, book: PolicyBook, as_of: date, config: MonitorConfig) -> None:
    recorder = _Recorder(engine)
    due_items(recorder, as_of=as_of, horizon=horizon_on(book, as_of, config))  # type: ignore[arg-type]
    settings = [s for s in recorder.statements if isinstance(s, TextClause)]
    queries = [s for s in recorder.statements if not isinstance(s, TextClause)]
    for name, statement in zip(("deadlines", "drift"), queries, strict=True):
        compiled = statement.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
        with engine.connect() as conn:
            if name == "deadlines":  # the SET LOCALs due_items makes for this query
                for setting in settings:
                    if "SET LOCAL" in setting.text:
                        conn.execute(setting)
            plan = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}").scalars().all()
        print(f"  EXPLAIN (ANALYZE, BUFFERS), due {name} query on {as_of.isoformat()}:")
        for line in plan:
            if any(
                word in line
                for word in ("Scan", "Join", "Loop", "Cond", "Buffers", "Time", "Hash ", "rows=")
            ):
                print(f"    {line}")


def table_counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        alerts = conn.execute(select(func.count()).select_from(Alert)).scalar_one()
        dispatches = conn.execute(select(func.count()).select_from(Dispatch)).scalar_one()
    return int(alerts), int(dispatches)


def database_size(engine: Engine) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(
                text("SELECT pg_size_pretty(pg_database_size(current_database()))")
            ).scalar()
        )


# -- the runs -----------------------------------------------------------------------------------


@contextmanager
def database(
    name: str, spec: LoadSpec, book: PolicyBook, keep: bool
) -> Iterator[tuple[Engine, Loaded]]:
    url = SERVER + name
    loaded = load(url, spec, book)
    engine = create_engine(url)
    print(
        f"loaded {name}: {loaded.cases:,} cases, {loaded.open_deadlines:,} open deadlines "
        f"({loaded.spec.overdue:,} overdue = {loaded.spec.overdue / loaded.open_deadlines:.1%}, "
        f"{loaded.spec.soon:,} due within 2 working days), {loaded.closed_deadlines:,} closed, "
        f"{loaded.spec.drift} drift, {loaded.staff:,} staff in {loaded.teams:,} teams; "
        f"{database_size(engine)}; {loaded.seconds:.1f} s (COPY {loaded.copy_seconds:.1f} s)"
    )
    try:
        yield engine, loaded
    finally:
        engine.dispose()
        if not keep:
            drop_database(url)


def profile_pass(engine: Engine, book: PolicyBook, as_of: date, config: MonitorConfig) -> None:
    profiler = cProfile.Profile()
    now = datetime.combine(as_of, clock_time(17, 0), tzinfo=UTC)
    t0 = time.perf_counter()
    profiler.enable()
    run_pass(engine, book, as_of=as_of, now=now, config=config)
    profiler.disable()
    print(f"pass 1 under cProfile: {time.perf_counter() - t0:.2f} s; top 25 by cumulative time:")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
    for line in out.getvalue().splitlines():
        if line.strip():
            print(f"  {line}")


def deliver_rate(engine: Engine, config: MonitorConfig) -> None:
    from demo.local_smtp import LocalSmtpServer  # only with --deliver

    with LocalSmtpServer() as server:
        for threads in (1, 4):
            smtp = replace(
                config, smtp_url=server.url(), environ={}, deliver=True, send_threads=threads
            )
            now = datetime.now(UTC)  # dispatches are due from their creation, in wall time
            t0 = time.perf_counter()
            sent, failed = monitor.deliver(engine, now=now, config=smtp, limit=DELIVER_SAMPLE)
            seconds = time.perf_counter() - t0
            print(
                f"delivery of {DELIVER_SAMPLE} dispatches, {threads} thread(s), local SMTP "
                f"server: {sent} emails in {seconds:.2f} s = {sent / seconds:.1f} emails/s; "
                f"{failed} Teams posts failed at once (no URL given here)"
            )
    with engine.connect() as conn:
        waiting = conn.execute(
            select(func.count()).select_from(Dispatch).where(col(Dispatch.sent_at).is_(None))
        ).scalar_one()
    print(f"  {waiting:,} dispatches still waiting")


def main() -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=ENGLAND_CIN)
    parser.add_argument(
        "--overdue", type=float, default=0.02, help="fraction of open deadlines past due"
    )
    parser.add_argument(
        "--soon", type=float, default=0.01, help="fraction due within 2 working days"
    )
    parser.add_argument("--drift", type=int, default=400, help="open drift findings")
    parser.add_argument("--skip-scaling", action="store_true", help="no quarter/double databases")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument(
        "--no-teams", action="store_true", help="no CIN_TEAMS_URLS: team managers by email only"
    )
    parser.add_argument("--profile", action="store_true", help="pass 1 again under cProfile")
    parser.add_argument("--deliver", action="store_true", help="also time sending through SMTP")
    args = parser.parse_args()

    book = load_policy_dir(REPO / "policies")
    expected_open = OPEN_PER_CASE * args.cases
    spec = LoadSpec(
        cases=args.cases,
        overdue=round(args.overdue * expected_open),
        soon=round(args.soon * expected_open),
        drift=args.drift,
    )
    teams = not args.no_teams
    print(
        f"deadline monitor pass, PostgreSQL at 127.0.0.1; as of {AS_OF.isoformat()}; digests "
        f"composed, nothing sent; Teams URLs {'for every team' if teams else 'not set'}"
    )

    with database("cin_monitor_bench", spec, book, args.keep) as (engine, loaded):
        config = config_for(loaded, teams)
        first = timed_pass("pass 1, first ever", engine, book, AS_OF, config)
        show(first)
        explain(engine, book, AS_OF, config)
        second = timed_pass("pass 2, next working day", engine, book, NEXT_DAY, config)
        show(second)
        again = timed_pass("pass 2 again, same day (nothing new)", engine, book, NEXT_DAY, config)
        show(again)
        alerts, dispatches = table_counts(engine)
        print(f"  tables now: {alerts:,} alerts, {dispatches:,} dispatches")
        if args.deliver:
            deliver_rate(engine, config)
    if args.profile:
        with database("cin_monitor_bench", spec, book, args.keep) as (engine, loaded):
            profile_pass(engine, book, AS_OF, config_for(loaded, teams))

    if not args.skip_scaling:
        quarter_spec = replace(spec, cases=args.cases // 4)
        with database("cin_monitor_bench_quarter", quarter_spec, book, args.keep) as (
            engine,
            loaded,
        ):
            quarter = timed_pass("quarter the cases, same due items: pass 1", engine, book, AS_OF,
                                 config_for(loaded, teams))  # fmt: skip
            show(quarter)
        double_spec = replace(
            spec, overdue=2 * spec.overdue, soon=2 * spec.soon, drift=2 * spec.drift
        )
        with database("cin_monitor_bench_double", double_spec, book, args.keep) as (engine, loaded):
            double = timed_pass("all the cases, twice the due items: pass 1", engine, book, AS_OF,
                                config_for(loaded, teams))  # fmt: skip
            show(double)
        print("scaling, pass 1 against pass 1 over the full database (same run):")
        print(
            f"  1/4 of the cases, same due items: {quarter.seconds:.2f} s vs {first.seconds:.2f} s "
            f"= {quarter.seconds / first.seconds:.2f}x (~1 if the cost follows due items; cases "
            f"x{quarter_spec.cases / spec.cases:.2f}, due items "
            f"x{quarter.report.due_items / first.report.due_items:.2f}, digests "
            f"x{quarter.report.digests / max(first.report.digests, 1):.2f})"
        )
        print(
            f"  twice the due items: {double.seconds:.2f} s vs {first.seconds:.2f} s "
            f"= {double.seconds / first.seconds:.2f}x (~2 if it grows with them; due items "
            f"x{double.report.due_items / first.report.due_items:.2f}, alerts "
            f"x{double.raised / max(first.raised, 1):.2f}, digests "
            f"x{double.report.digests / max(first.report.digests, 1):.2f})"
        )
        for label, timed in (("full", first), ("quarter", quarter), ("double", double)):
            per_item = timed.seconds / max(timed.report.due_items, 1) * 1e6
            per_digest = timed.phases.seconds["create_digests"] / max(timed.report.digests, 1) * 1e3
            print(
                f"  {label:<8} {per_item:6.0f} us per due item; "
                f"{per_digest:5.2f} ms per digest written"
            )

    verdict = "within" if first.seconds < TARGET_SECONDS else "OVER"
    print(
        f"verdict: pass 1 over {args.cases:,} cases ({first.report.due_items:,} due items) "
        f"{first.seconds:.2f} s, {verdict} the {TARGET_SECONDS:.0f} s target "
        f"({first.seconds / TARGET_SECONDS:.2f}x); steady-state pass {second.seconds:.2f} s "
        f"({second.seconds / TARGET_SECONDS:.2f}x)"
    )


if __name__ == "__main__":
    main()
