"""Issue 23 part 3: a council's three years on one Prefect server, with and without retention.

Each variant is the same simulated caseload on a Prefect server of its own (PostgreSQL), run the
way the demo runs its year (demo/demo.py `play`): the four councils' referrals at `--scale` of
their annual volumes from the seeds (demo/caseload_mix.py), every record accepted through the
engine on its simulated day, the case runs executed by the engine's worker in this process at
the end of each simulated week, and one reconciler run and one monitor run (the real flows) a
simulated week. Prefect's database size and its rows are read at the end of each simulated
quarter.

- `kept`: nothing deleted (timelines keep every version);
- `pruned`: at the end of each simulated week the engine's retention with its defaults
  (tasks/prefect_retention.py): closed cases' runs that ended more than 90 simulated days
  before, the passes' runs more than 7 days before (each deployment's latest kept), and the
  timelines of the cases that took an event that week cut to their latest 10 versions. Time is
  simulated: a cut-off of "90 days ago" is the real moment at which the simulated week ending
  90 days ago finished its work, so a run is deleted exactly when its simulated age passes the
  period.

Two things are compressed and said so: a week's passes are one reconciler run and one monitor
run, not 10,080 and 672 (their cost a run is measured first, from 40 of each, and scaled in the
summary); and Prefect's own events (its `events` and `event_resources` tables) are trimmed by
the server after 7 real days (PREFECT_SERVER_EVENTS_RETENTION_PERIOD), which a compressed run
never reaches, so they are shown apart and left out of the bound.

A deleted or updated row's space is reused only once VACUUM has marked it free: autovacuum,
on by default, does that every minute a table needs it. A simulated week passes in seconds here,
so `--weekly-vacuum` runs the VACUUM autovacuum would have run by the week's end (and stands in
for it on a PostgreSQL with autovacuum off, as this machine's is: the bench prints the setting).
Each quarter's end also reads the tables' pages with pgstattuple: live rows, dead rows, free space.

    python bench/prefect_years.py [--scale 0.01429] [--years 3] [--variants kept,pruned]
                                  [--weekly-vacuum]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from demo.local_server import PrefectServer, free_port  # noqa: E402

PG = "host=127.0.0.1 user=postgres dbname=postgres"
START = date(2025, 1, 6)  # a Monday, as the demo's year
QUARTER_WEEKS = 13
EVENTS_TABLES = ("events", "event_resources")
PASS_SAMPLE = 40  # reconciler and monitor runs made first, to measure a pass run's cost
RETENTION_DAYS, PASS_RETENTION_DAYS, TIMELINE_VERSIONS = 90, 7, 10  # the engine's defaults


def db_figures(name: str) -> dict[str, Any]:
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={name}", autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        size = conn.execute("SELECT pg_database_size(current_database())").fetchone()
        events = conn.execute(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "WHERE c.relname = ANY(%s) AND c.relkind = 'r'",
            (list(EVENTS_TABLES),),
        ).fetchone()
        rows = {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
            for table in ("flow_run", "task_run", "artifact", "log", "flow_run_state", "events")
        }
        tables = conn.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 2 DESC LIMIT 10"
        ).fetchall()
        # the tables' bytes as pgstattuple reads them (every page): live rows, dead rows not yet
        # vacuumed, and free space a later insert or update can reuse
        conn.execute("CREATE EXTENSION IF NOT EXISTS pgstattuple")
        space = conn.execute(
            "SELECT coalesce(sum(s.table_len), 0), coalesce(sum(s.tuple_len), 0), "
            "coalesce(sum(s.dead_tuple_len), 0), coalesce(sum(s.free_space), 0) "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, "
            "LATERAL pgstattuple(c.oid) s "
            "WHERE n.nspname = 'public' AND c.relkind = 'r' AND NOT c.relname = ANY(%s)",
            (list(EVENTS_TABLES),),
        ).fetchone()
    assert size is not None and events is not None and space is not None
    heap = dict(zip(("tables", "live", "dead", "free"), (int(x) for x in space), strict=True))
    return {"size": int(size[0]), "events_size": int(events[0]), "rows": rows,
            "tables": {name: int(n) for name, n in tables}, "heap": heap}  # fmt: skip


def vacuum(name: str) -> None:
    """What autovacuum does to Prefect's tables (marks dead rows' space reusable), at once."""
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={name}", autocommit=True) as conn:
        conn.execute("VACUUM")


# -- the child: one variant ------------------------------------------------------------------


def child(variant: str, scale: float, years: int, prefect_db: str, weekly_vacuum: bool) -> None:
    from prefect.client.orchestration import get_client
    from prefect.events.worker import EventsWorker
    from prefect.flow_engine import run_flow
    from prefect.logging.handlers import APILogWorker
    from sqlalchemy import text

    import demo.demo as dd
    from demo.caseload import generate_caseload
    from demo.caseload_mix import scaled_volumes
    from demo.census_returns import record_children, send_record
    from demo.local_smtp import LocalSmtpServer
    from engine.ingest import Ingest
    from engine.worker import case_deployment_id, work
    from flows.monitor import deadline_monitor
    from flows.reconciler import reconcile
    from models.instance import instance_id, monitor_deployment_name, reconciler_deployment_name
    from models.lifecycle import EventRefused
    from tasks.prefect_retention import (
        PruneReport,
        prune_closed_runs,
        prune_pass_runs,
        prune_timelines,
    )

    smtp = LocalSmtpServer(folder=Path(os.environ["CIN_DATA_DIR"]) / "mail")
    smtp.start()
    os.environ["CIN_SMTP_URL"] = smtp.url(sender="cin-alerts@bench.example")
    ingest = Ingest.from_settings(deliver=False)
    case_deployment_id(ingest.engine)
    instance = instance_id(ingest.engine)
    # the passes as `cin serve` runs them: runs of this instance's two deployments (engine/serve.py)
    deployments = {}
    with get_client(sync_client=True) as client:
        for fl, name in ((reconcile, reconciler_deployment_name(instance)),
                         (deadline_monitor, monitor_deployment_name(instance))):  # fmt: skip
            flow_id = client.create_flow_from_name(fl.name)
            deployments[fl.name] = client.create_deployment(flow_id=flow_id, name=name)

    def passes(day: date) -> None:
        for fl, parameters in ((reconcile, {}), (deadline_monitor, {"as_of": day})):
            with get_client(sync_client=True) as client:
                run = client.create_flow_run_from_deployment(
                    deployments[fl.name], parameters=parameters
                )
            run_flow(fl, flow_run=run, parameters=parameters)

    days = 364 * years
    yearly = scaled_volumes(dd.AUTHORITIES, scale)
    volumes = {slug: n * years for slug, n in yearly.items()}
    records = generate_caseload(
        authorities=dd.AUTHORITIES, cases=sum(volumes.values()), start=START, days=days,
        seed=2026, policies=ingest.policies, volumes=volumes,
    )  # fmt: skip
    os.environ["CIN_TODAY"] = (START + timedelta(days=days)).isoformat()  # details as of referral
    record_children(ingest, records)
    by_day: dict[int, list[Any]] = defaultdict(list)
    for record in records:
        by_day[(record.recorded_on - START).days].append(record)

    # a pass run's cost: PASS_SAMPLE of each on the empty server, before any case
    os.environ["CIN_TODAY"] = START.isoformat()
    before = db_figures(prefect_db)
    for _ in range(PASS_SAMPLE):
        passes(START)
    after = db_figures(prefect_db)
    print("PASSES " + json.dumps({"before": before, "after": after, "runs": 2 * PASS_SAMPLE}),
          flush=True)  # fmt: skip

    case_refs: dict[str, str] = {}
    accepted = refused = 0
    finished: dict[int, datetime] = {}  # simulated day -> the real time its week's work ended
    pruned = PruneReport()
    started = time.monotonic()

    def real_cutoff(day: int) -> datetime | None:
        done = [d for d in finished if d <= day]
        return finished[max(done)] if done else None

    for offset in range(days + 1):
        today = START + timedelta(days=offset)
        os.environ["CIN_TODAY"] = today.isoformat()
        for record in by_day.get(offset, []):
            try:
                send_record(ingest, record, case_refs)
                accepted += 1
            except EventRefused:
                refused += 1
        if offset % 7 != 6 and offset != days:
            continue
        week_began = finished[max(finished)] if finished else datetime.now(UTC)
        work(ingest.engine, threads=dd.CASE_THREADS, until_idle=True)
        passes(today)
        finished[offset] = datetime.now(UTC)
        if variant == "pruned":
            cut = real_cutoff(offset - RETENTION_DAYS)
            if cut is not None:
                prune_closed_runs(ingest.engine, before=cut, limit=100_000, report=pruned)
            cut = real_cutoff(offset - PASS_RETENTION_DAYS)
            if cut is not None:
                prune_pass_runs(ingest.engine, before=cut, limit=100_000, report=pruned)
            prune_timelines(ingest.engine, keep=TIMELINE_VERSIONS, since=week_began, report=pruned)
        if weekly_vacuum:
            vacuum(prefect_db)
        week = offset // 7
        if week % QUARTER_WEEKS == QUARTER_WEEKS - 1 or offset == days:
            with ingest.engine.connect() as conn:
                stages = dict(
                    conn.execute(
                        text("SELECT stage = 'closed', count(*) FROM \"case\" GROUP BY 1")
                    ).all()
                )
            point = {
                "day": today.isoformat(),
                "weeks": week + 1,
                "accepted": accepted,
                "refused": refused,
                "open": int(stages.get(False, 0)),
                "closed": int(stages.get(True, 0)),
                "deleted_runs": pruned.runs_deleted,
                "deleted_pass_runs": pruned.pass_runs_deleted,
                "deleted_artifacts": pruned.artifacts_deleted,
                "seconds": time.monotonic() - started,
                **db_figures(prefect_db),
            }
            print("POINT " + json.dumps(point), flush=True)
    smtp.stop()
    # the passes' events and logs reach the server before the process ends, not in its exit
    EventsWorker.drain_all(timeout=60)
    APILogWorker.drain_all(timeout=60)


# -- the parent --------------------------------------------------------------------------------


def fresh_database(name: str) -> None:
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")


def drop_database(name: str) -> None:
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def run_variant(variant: str, args: argparse.Namespace) -> dict[str, Any]:
    prefect_db, cases_db = f"{args.db_prefix}{variant}_prefect", f"{args.db_prefix}{variant}_cases"
    with tempfile.TemporaryDirectory(prefix="cin-years-") as tmp:
        work = Path(tmp)
        (work / "cin" / "mail").mkdir(parents=True)
        fresh_database(prefect_db)
        fresh_database(cases_db)
        server = PrefectServer(
            work / "prefect", free_port(),
            database_url=f"postgresql+asyncpg://postgres@127.0.0.1:5432/{prefect_db}",
        )  # fmt: skip
        out: dict[str, Any] = {"points": []}
        try:
            server.start()
            cases_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{cases_db}"
            env = {**server.env(), "CIN_DATA_DIR": str(work / "cin"),
                   "PREFECT_LOGGING_LEVEL": "ERROR", "CIN_DATABASE_URL": cases_url}  # fmt: skip
            if variant == "kept":  # the reconciler's own timeline pruning off too
                env["CIN_TIMELINE_VERSIONS"] = "1000000"
            proc = subprocess.Popen(
                [sys.executable, __file__, "--child", variant, str(args.scale), str(args.years),
                 prefect_db, "vacuum" if args.weekly_vacuum else "-"],
                env=env, cwd=REPO, stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.startswith("PASSES "):
                    out["passes"] = json.loads(line.removeprefix("PASSES "))
                elif line.startswith("POINT "):
                    point = json.loads(line.removeprefix("POINT "))
                    out["points"].append(point)
                    print(f"  {variant} {point['day']}: {point['size'] / 1e6:.1f} MB, "
                          f"{point['rows']['flow_run']} runs, {point['open']} open / "
                          f"{point['closed']} closed cases ({point['seconds']:.0f} s)",
                          flush=True)  # fmt: skip
            if proc.wait() != 0:
                raise SystemExit(f"bench child {variant} failed ({proc.returncode})")
        finally:
            server.stop()
            drop_database(prefect_db)
            drop_database(cases_db)
    return out


def mb(n: float) -> str:
    return f"{n / 1e6:.1f}"


def show(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    names = list(results)
    print(
        "\nPrefect's database at the end of each simulated quarter (MB; without the events "
        "tables, which Prefect trims after 7 days; flow runs and artifacts in brackets)"
    )
    print(f"{'quarter end':<12} {'open/closed':>13} " + " ".join(f"{n:>28}" for n in names))
    points = [results[n]["points"] for n in names]
    for row in zip(*points, strict=False):
        first = row[0]
        cells = [
            f"{mb(p['size'] - p['events_size']):>8} ({p['rows']['flow_run']:>5} r, "
            f"{p['rows']['artifact']:>6} a)"
            for p in row
        ]
        print(f"{first['day']:<12} {first['open']:>6}/{first['closed']:<6} "
              + " ".join(f"{c:>28}" for c in cells))  # fmt: skip
    for name in names:
        pts = results[name]["points"]
        year = len(pts) // args.years
        sizes = [p["size"] - p["events_size"] for p in pts]
        yearly = [sizes[min(len(sizes), year * (y + 1)) - 1] for y in range(args.years)]
        growth = [b - a for a, b in zip([0, *yearly], yearly, strict=False)]
        last = pts[-1]
        print(f"{name}: at each year's end {', '.join(mb(s) for s in yearly)} MB (growth "
              f"{', '.join(mb(g) for g in growth)}); events tables at the end "
              f"{mb(last['events_size'])} MB; deleted {last['deleted_runs']} case runs, "
              f"{last['deleted_pass_runs']} pass runs, {last['deleted_artifacts']} artifact "
              f"versions")  # fmt: skip
    for name in names:
        pts = results[name]["points"]
        year = len(pts) // args.years
        heaps = [pts[min(len(pts), year * (y + 1)) - 1]["heap"] for y in range(args.years)]
        print(f"{name}: the tables' pages at each year's end (MB, pgstattuple, without the events "
              "tables): " + "; ".join(f"{mb(h['tables'])} = live {mb(h['live'])} + dead "
                                      f"{mb(h['dead'])} + free {mb(h['free'])}"
                                      for h in heaps))  # fmt: skip
    for name in names:
        largest = results[name]["points"][-1]["tables"]
        print(f"{name}: the largest tables at the end (MB): "
              + ", ".join(f"{t} {mb(n)}" for t, n in largest.items()))  # fmt: skip
    passes = next(iter(results.values()))["passes"]
    grown = (passes["after"]["size"] - passes["after"]["events_size"]) - (
        passes["before"]["size"] - passes["before"]["events_size"]
    )
    per_run = grown / passes["runs"]
    day = 24 * 60 + 24 * 4  # `cin serve`: the reconciler every minute, the monitor every 15
    print(f"a pass run (reconciler or monitor, {passes['runs']} made on the empty server): "
          f"{per_run / 1e3:.1f} KB without events; at `cin serve`'s {day} a day: "
          f"{per_run * day * 365 / 1e9:.2f} GB a year kept for ever, "
          f"{per_run * day * PASS_RETENTION_DAYS / 1e6:.0f} MB with the {PASS_RETENTION_DAYS}-day "
          "retention")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False)
    parser.add_argument("--scale", type=float, default=1 / 70,
                        help="of the councils' annual referrals (the demo: 1/70)")  # fmt: skip
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--variants", default="kept,pruned")
    parser.add_argument("--db-prefix", default="cin_years_")
    parser.add_argument(
        "--weekly-vacuum", action="store_true",
        help="VACUUM Prefect's database at each simulated week's end, as autovacuum would (a "
        "council's PostgreSQL runs it every minute by default; a compressed run, or a server "
        "with autovacuum off, never reaches it)",
    )  # fmt: skip
    parser.add_argument("--child", nargs=5)
    args = parser.parse_args()
    if args.child:
        variant, scale, years, prefect_db, vacuumed = args.child
        child(variant, float(scale), int(years), prefect_db, vacuumed == "vacuum")
        return
    started = time.perf_counter()
    print(f"start: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    with psycopg.connect(PG, autocommit=True) as conn:
        settings = conn.execute(
            "SELECT name, setting FROM pg_settings WHERE name IN ('autovacuum', "
            "'autovacuum_naptime', 'autovacuum_vacuum_scale_factor')"
        ).fetchall()
    print("PostgreSQL: " + ", ".join(f"{k} {v}" for k, v in settings)
          + f"; the bench's own VACUUM each simulated week: {args.weekly_vacuum}")  # fmt: skip
    variants = args.variants.split(",")
    # side by side: what is measured is sizes, not times
    with ThreadPoolExecutor(len(variants)) as pool:
        done = pool.map(lambda v: run_variant(v, args), variants)
        results = dict(zip(variants, done, strict=True))
    print(f"\nscale {args.scale:.4f} of the seeds' annual referrals, {args.years} years; the "
          f"whole run {time.perf_counter() - started:.0f} s")  # fmt: skip
    show(results, args)
    print(f"end: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")


if __name__ == "__main__":
    main()
