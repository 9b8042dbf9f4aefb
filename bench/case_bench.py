"""Events per second through the full path, and the 1st vs the 50th event of one case.

Full path: accept (one transaction in the case database) -> deliver (outbox -> resume the case's
suspended run) -> execute the run in-process (apply the event's work, publish tags and timeline)
-> suspend again. Run on the embedded default (Prefect server and case database on SQLite) and
on PostgreSQL (both on PostgreSQL), each beside a bare Prefect suspend/resume cycle of a trivial
flow measured in the same run against the same server.

    python bench/case_bench.py [--backend sqlite|postgres|both] [--cases 40] [--events 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from demo.local_server import PrefectServer, free_port  # noqa: E402

PG = "host=127.0.0.1 user=postgres dbname=postgres"


def fresh_pg_database(name: str) -> str:
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return name


def configure(backend: str, workdir: Path) -> PrefectServer:
    prefect_db = None
    if backend == "postgres":
        prefect_db = (
            f"postgresql+asyncpg://postgres@127.0.0.1:5432/{fresh_pg_database('cin_bench_prefect')}"
        )
        os.environ["CIN_DATABASE_URL"] = (
            f"postgresql+psycopg://postgres@127.0.0.1:5432/{fresh_pg_database('cin_bench_cases')}"
        )
    else:
        os.environ.pop("CIN_DATABASE_URL", None)
    os.environ["CIN_DATA_DIR"] = str(workdir / "data")
    server = PrefectServer(workdir / "prefect", free_port(), database_url=prefect_db)
    server.start()
    for key, value in server.env().items():
        if key.startswith("PREFECT_"):
            os.environ[key] = value
    return server


def bare_cycle(samples: int) -> float:
    """Median seconds of resume + in-process execution to the next suspend, trivial flow."""
    from bench.trivial_flow import trivial_cycle_seconds

    return trivial_cycle_seconds(samples)


def one_case_latencies(ingest, events: int) -> list[float]:
    """Seconds from accept to the run suspended again, for each event of one long case."""
    from engine.delivery import run_case_run
    from engine.worker import scheduled_case_runs

    def cycle(record) -> float:
        t0 = time.perf_counter()
        record()
        for run_id in scheduled_case_runs():
            run_case_run(run_id)
        return time.perf_counter() - t0

    latencies = []
    ref_holder: list[str] = []

    def refer() -> None:
        accepted = ingest.refer(
            authority="stockton-on-tees", child_ref="BENCH-1", on=date(2024, 1, 8)
        )
        ref_holder.append(accepted.case_ref)

    latencies.append(cycle(refer))
    ref = ref_holder[0]
    path = [
        {"type": "referral_decision", "on": "2024-01-09", "outcome": "assessment"},
        {"type": "assessment_completed", "on": "2024-02-01", "outcome": "cin_plan"},
        {"type": "cin_meeting_held", "on": "2024-02-12"},
    ]
    day = date(2024, 2, 13)
    while len(path) < events - 1:
        path.append({"type": "visit_recorded", "on": day.isoformat()})
        day += timedelta(days=3)
    for event in path:
        latencies.append(cycle(lambda event=event: ingest.record(ref, event)))
    return latencies


def throughput(ingest, cases: int, events_per_case: int, threads: int) -> tuple[float, int, int]:
    """Events/s with a feeder accepting events for many cases while a worker applies them."""
    from sqlmodel import Session, select

    from engine.worker import work
    from models.tables import Case

    refs = [
        ingest.refer(authority="redbridge", child_ref=f"BENCH-T{i}", on=date(2024, 3, 4)).case_ref
        for i in range(cases)
    ]
    stop = threading.Event()
    worker = threading.Thread(
        target=work, args=(ingest.engine,), kwargs={"threads": threads, "poll_seconds": 0.05,
                                                    "stop": stop}, daemon=True,
    )  # fmt: skip
    opening = [
        {"type": "referral_decision", "on": "2024-03-05", "outcome": "assessment"},
        {"type": "assessment_completed", "on": "2024-03-20", "outcome": "cin_plan"},
        {"type": "cin_meeting_held", "on": "2024-04-02"},
    ]
    stream = [(ref, e) for e in opening for ref in refs]
    day = date(2024, 4, 3)
    for _ in range(events_per_case - len(opening)):
        stream += [(ref, {"type": "visit_recorded", "on": day.isoformat()}) for ref in refs]
        day += timedelta(days=2)
    worker.start()
    t0 = time.perf_counter()
    with ThreadPoolExecutor(2) as feeders:
        list(feeders.map(lambda item: ingest.record(item[0], item[1]), stream))

    def done() -> bool:
        with Session(ingest.engine) as session:
            rows = session.exec(select(Case.flow_seq, Case.last_seq)).all()
        return all(f == last for f, last in rows)

    while not done():
        time.sleep(0.05)
    elapsed = time.perf_counter() - t0
    stop.set()
    worker.join(timeout=60)
    return len(stream) / elapsed, len(stream), wakes(ingest.engine)


def wakes(engine) -> int:
    """How many times case runs woke up (one timeline artifact version per wake-up)."""
    from sqlalchemy import func
    from sqlmodel import Session, select

    from models.tables import CaseWork

    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(CaseWork)).one())


def run_backend(backend: str, args: argparse.Namespace) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix=f"cin-bench-{backend}-") as tmp:
        server = configure(backend, Path(tmp))
        try:
            import models.runtime as runtime
            from engine.ingest import Ingest

            runtime._engine.cache_clear()
            ingest = Ingest.from_settings()
            bare = bare_cycle(samples=20)
            lat = one_case_latencies(ingest, 50)
            rate, events, _ = throughput(ingest, args.cases, args.events, args.threads)
        finally:
            server.stop()
    first, fiftieth = lat[0], lat[49]
    early = statistics.median(lat[1:11])
    late = statistics.median(lat[40:50])
    print(f"\n[{backend}] Prefect server and case database on {backend}")
    print(f"  bare suspend/resume cycle (trivial flow), median of 20: {bare * 1e3:7.0f} ms")
    print(f"  one case: event 1 (referral, creates the run)   {first * 1e3:7.0f} ms")
    print(f"  one case: event 50                               {fiftieth * 1e3:7.0f} ms")
    print(
        f"  one case: median events 2-11 {early * 1e3:6.0f} ms, events 41-50 {late * 1e3:6.0f} ms"
        f"  -> ratio {late / early:.2f}"
    )
    print(f"  full-path event cycle / bare cycle: {early / bare:.2f}x")
    print(
        f"  throughput: {events} events on {args.cases} cases, {args.threads} worker threads: "
        f"{rate:.1f} events/s"
    )
    return {"bare": bare, "first": first, "fiftieth": fiftieth, "early": early, "late": late,
            "rate": rate}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    results = {b: run_backend(b, args) for b in backends}
    if "postgres" in results:
        pg = results["postgres"]
        print(
            f"\ntarget >= 10 events/s on PostgreSQL: {'met' if pg['rate'] >= 10 else 'NOT MET'}"
            f" ({pg['rate']:.1f})"
        )
    for backend, r in results.items():
        ok = r["late"] <= 1.5 * r["early"]
        print(
            f"target 50th event <= 1.5x the 1st ({backend}): {'met' if ok else 'NOT MET'} "
            f"(median 41-50 / median 2-11 = {r['late'] / r['early']:.2f}; "
            f"event 50 / event 1 = {r['fiftieth'] / r['first']:.2f})"
        )


if __name__ == "__main__":
    main()
