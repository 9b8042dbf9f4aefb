"""Events per second through the full path with 1, 2 and 3 `cin worker` processes, Prefect API
calls per event, and where one wake-up's time goes.

Full path: accept (one transaction in the case database) -> deliver (outbox -> resume the case's
suspended run) -> a worker claims the run (Pending) and executes it in a thread (apply the event's
work, publish tags and timeline) -> suspend again. Run on PostgreSQL (Prefect server and case
database) by default, or on the embedded default (SQLite).

Runs anywhere: it starts its own Prefect server on a free port, with its own home and auth string,
and every measurement runs in a child process whose environment points at that server before
Prefect is imported (Prefect reads its settings once, at import).

Prefect API calls are counted from the server's access log and listed by endpoint (ids folded),
per event for the throughput runs and per wake-up for the in-process one. Its PostgreSQL databases
are named `--db-prefix` + wake / w1 / w2 / w3 / prefect, and dropped at the end.

    python bench/case_bench.py [--backend postgres|sqlite] [--workers 1,2,3] [--cases 40]
                               [--events 10] [--threads 2] [--db-prefix cin_bench_]
                               [--topology one|split] [--redis-db 15]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import psycopg
import redis

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.cin_workers import start_workers  # noqa: E402
from bench.proc_cpu import CpuSampler  # noqa: E402
from bench.server_cost import (  # noqa: E402
    SERVICES,
    api_calls,
    server_cpu,
    server_pids,
    show_calls,
    show_cpu,
)
from demo.local_server import PrefectServer, free_port  # noqa: E402
from demo.topology import Topology  # noqa: E402

PG = "host=127.0.0.1 user=postgres dbname=postgres"
DB_PREFIX = "cin_bench_"  # --db-prefix: engineers sharing one PostgreSQL keep apart


CREATED: list[str] = []  # this run's databases, dropped at the end


def fresh_pg_database(name: str) -> str:
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    CREATED.append(name)
    return name


# -- the child processes (Prefect imported only here, after the environment is set) ------------


def child_wakeups(samples: int) -> dict[str, float]:
    """One case, event after event, each stage of a wake-up timed on its own."""
    from sqlmodel import Session, select

    from engine.delivery import deliver_case, run_case_run
    from engine.executor import prepare_thread
    from engine.worker import case_deployment_id

    prepare_thread()
    from engine.ingest import Ingest
    from models.tables import Case

    ingest = Ingest.from_settings(deliver=False)
    case_deployment_id(ingest.engine)
    ref = ingest.refer(
        authority="stockton-on-tees", child_ref="BENCH1", on=date(2024, 1, 8)
    ).case_ref
    deliver_case(ingest.engine, ref)

    def run_id():
        with Session(ingest.engine) as session:
            return session.exec(select(Case.flow_run_id).where(Case.case_ref == ref)).one()

    run_case_run(ingest.engine, run_id())
    parts: dict[str, list[float]] = {"accept": [], "deliver (resume)": [], "execute": []}
    for event in case_events(samples, referred=date(2024, 1, 8), visit_every=3):
        t0 = time.perf_counter()
        ingest.record(ref, event)
        t1 = time.perf_counter()
        deliver_case(ingest.engine, ref)
        t2 = time.perf_counter()
        run_case_run(ingest.engine, run_id())
        t3 = time.perf_counter()
        parts["accept"].append(t1 - t0)
        parts["deliver (resume)"].append(t2 - t1)
        parts["execute"].append(t3 - t2)
    return {k: statistics.median(v) for k, v in parts.items()}


def case_events(
    events: int, referred: date = date(2024, 3, 4), visit_every: int = 2
) -> list[dict[str, str]]:
    """A case's events after its referral (by default 2024-03-04, a throughput run's cases):
    the decision to assess the next day, the assessment 16 days after the referral, the CIN
    meeting after 29, then a visit every `visit_every` days up to `events` in all (the opening
    three at least). Each case of a throughput run, the wake-up case (referred 2024-01-08, a
    visit every third day) and bench/worker_memory.py's cases get these."""
    stream = [
        {"type": "referral_decision", "on": (referred + timedelta(days=1)).isoformat(),
         "outcome": "assessment"},
        {"type": "assessment_completed", "on": (referred + timedelta(days=16)).isoformat(),
         "outcome": "cin_plan"},
        {"type": "cin_meeting_held", "on": (referred + timedelta(days=29)).isoformat()},
    ]  # fmt: skip
    day = referred + timedelta(days=30)
    while len(stream) < events:
        stream.append({"type": "visit_recorded", "on": day.isoformat()})
        day += timedelta(days=visit_every)
    return stream


def child_throughput(cases: int, events_per_case: int, workers: int, threads: int) -> dict:
    from concurrent.futures import ThreadPoolExecutor

    from sqlmodel import Session, select

    from engine.ingest import Ingest
    from engine.worker import case_deployment_id
    from models.tables import Case

    ingest = Ingest.from_settings()
    case_deployment_id(ingest.engine)
    procs = start_workers(workers, threads)

    def caught_up() -> bool:
        with Session(ingest.engine) as session:
            rows = session.exec(select(Case.flow_seq, Case.last_seq)).all()
        return bool(rows) and all(f == last for f, last in rows)

    try:
        refs = [
            ingest.refer(
                authority="redbridge", child_ref=f"BENCHT{i}", on=date(2024, 3, 4)
            ).case_ref
            for i in range(cases)
        ]
        while not caught_up():
            time.sleep(0.1)
        stream = [(ref, e) for e in case_events(events_per_case) for ref in refs]
        print("FEEDING", flush=True)
        sys.stdin.readline()  # the parent marks the server's request count
        t0 = time.perf_counter()
        with ThreadPoolExecutor(2) as feeders:
            list(feeders.map(lambda item: ingest.record(item[0], item[1]), stream))
        fed = time.perf_counter() - t0
        while not caught_up():
            time.sleep(0.05)
        elapsed = time.perf_counter() - t0
        print("CAUGHT_UP", flush=True)
        sys.stdin.readline()  # the parent takes its last CPU sample while the workers live
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)
    return {"events": len(stream), "seconds": elapsed, "rate": len(stream) / elapsed, "fed": fed}


# -- the parent ---------------------------------------------------------------------------------


def child_env(
    server: PrefectServer,
    backend: str,
    workdir: Path,
    name: str,
    topology: Topology | None = None,
) -> dict[str, str]:
    prefect = topology.client_env(0) if topology is not None else server.env()
    env = {**prefect, "CIN_DATA_DIR": str(workdir / name), "PREFECT_LOGGING_LEVEL": "ERROR"}
    env.pop("CIN_DATABASE_URL", None)
    if backend == "postgres":
        db = fresh_pg_database(f"{DB_PREFIX}{name}")
        env["CIN_DATABASE_URL"] = f"postgresql+psycopg://postgres@127.0.0.1:5432/{db}"
    return env


def run_child(env: dict[str, str], server: PrefectServer, *args: str) -> tuple[dict, Counter[str]]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", *args], env=env, cwd=REPO,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    before, cpu = api_calls(server), server_cpu(server)
    sampler = CpuSampler(server_pids(server), proc.pid, DB_PREFIX, tuple(SERVICES))
    used: dict[str, float] = {}
    for line in proc.stdout:
        if line.startswith("FEEDING"):
            before, cpu = api_calls(server), server_cpu(server)
            sampler.start()
            proc.stdin.write("go\n")
            proc.stdin.flush()
        elif line.startswith("CAUGHT_UP"):
            used = sampler.stop()
            proc.stdin.write("done\n")
            proc.stdin.flush()
        elif line.startswith("RESULT "):
            result = json.loads(line.removeprefix("RESULT "))
    if proc.wait() != 0:
        raise SystemExit(f"bench child {args} failed ({proc.returncode})")
    time.sleep(1.0)  # the access log is written by the server's own thread
    result["server_cpu"] = server_cpu(server) - cpu
    if used:
        result["cpu"] = used
    return result, api_calls(server) - before


def drop_databases() -> None:
    with psycopg.connect(PG, autocommit=True) as conn:
        for name in CREATED:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def main() -> None:
    global DB_PREFIX
    parser = argparse.ArgumentParser(allow_abbrev=False)
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--workers", default="1,2,3")
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--events", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2, help="threads per worker")
    parser.add_argument("--db-prefix", default=DB_PREFIX, help="PostgreSQL database name prefix")
    parser.add_argument("--endpoints", type=int, default=8, help="busiest endpoints to list")
    parser.add_argument(
        "--topology", choices=["one", "split"], default="one",
        help="one: a Prefect server process serving the API and running its services (the "
        "embedded default); split: an API server without services, a services process, and "
        "Redis for their messaging (docs/scale-out.md; PostgreSQL only)",
    )  # fmt: skip
    parser.add_argument(
        "--redis-db",
        type=int,
        default=15,
        help="with --topology split: a Redis database emptied before and after",
    )
    parser.add_argument("--child", nargs="*")
    args = parser.parse_args()
    DB_PREFIX = args.db_prefix
    if args.child is not None:
        kind, *rest = args.child
        if kind == "wakeups":
            # in a thread of its own, as a worker runs a wake-up (one Prefect client a thread)
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(1) as thread:
                result = thread.submit(child_wakeups, int(rest[0])).result()
        else:
            cases, events, workers, threads = map(int, rest)
            result = child_throughput(cases, events, workers, threads)
        print("RESULT " + json.dumps(result), flush=True)
        return

    os.environ["PREFECT_SERVER_LOGGING_LEVEL"] = "INFO"  # one access-log line per API call
    rates: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="cin-bench-") as tmp:
        workdir = Path(tmp)
        prefect_db = None
        if args.backend == "postgres":
            name = fresh_pg_database(DB_PREFIX + "prefect")
            prefect_db = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
        topology: Topology | None = None
        if args.topology == "split":
            if prefect_db is None:
                raise SystemExit("--topology split: expected --backend postgres")
            redis.Redis(db=args.redis_db).flushdb()
            topology = Topology(workdir / "prefect", database_url=prefect_db,
                                redis_db=args.redis_db, api_servers=1)  # fmt: skip
            server = topology.servers[0]
        else:
            server = PrefectServer(workdir / "prefect", free_port(), database_url=prefect_db)
        try:
            if topology is not None:
                topology.start()
                assert topology.services.process is not None
                SERVICES.append(topology.services.process.pid)
            else:
                server.start()
            print(f"Prefect server ({args.topology}: "
                  f"{'API server + services process + Redis' if topology else 'one process'}) "
                  f"and case database on {args.backend}; "
                  f"machine load at start: {os.getloadavg()[0]:.1f}")  # fmt: skip
            samples = 21
            wake, calls = run_child(child_env(server, args.backend, workdir, "wake", topology),
                                    server, "wakeups", str(samples))  # fmt: skip
            total = sum(v for k, v in wake.items() if k != "server_cpu")
            print(f"\none wake-up, in-process, median of {samples} (no poll delay): "
                  f"{total * 1e3:.0f} ms")  # fmt: skip
            for part, seconds in wake.items():
                if part != "server_cpu":
                    print(f"  {part:<18} {seconds * 1e3:6.0f} ms  {seconds / total:4.0%}")
            print(f"  Prefect server CPU {wake['server_cpu'] / samples * 1e3:.0f} ms and "
                  f"{calls.total() / samples:.1f} API calls per wake-up "
                  f"(set-up included), by endpoint:")  # fmt: skip
            show_calls(calls, samples, args.endpoints)
            for n in [int(x) for x in args.workers.split(",")]:
                env = child_env(server, args.backend, workdir, f"w{n}", topology)
                result, calls = run_child(env, server, "throughput", str(args.cases),
                                          str(args.events), str(n), str(args.threads))  # fmt: skip
                rates[n] = result["rate"]
                ratio = rates[n] / rates[min(rates)]
                print(f"\n{n} worker(s) x {args.threads} threads: {result['events']} events in "
                      f"{result['seconds']:.1f}s = {result['rate']:.1f} events/s "
                      f"(x{ratio:.2f} of {min(rates)} worker); "
                      f"{calls.total() / result['events']:.1f} API calls and "
                      f"{result['server_cpu'] / result['events'] * 1e3:.0f} ms of Prefect "
                      f"server CPU per event:")  # fmt: skip
                lag = result["seconds"] - result["fed"]
                print(f"  the feeder's two threads had every event accepted after "
                      f"{result['fed']:.1f}s; the workers caught up {lag:.1f}s later")  # fmt: skip
                show_cpu(result, calls)
                show_calls(calls, result["events"], args.endpoints)
        finally:
            if topology is not None:
                topology.stop()
                redis.Redis(db=args.redis_db).flushdb()
            else:
                server.stop()
            if args.backend == "postgres":
                drop_databases()
    best = max(rates.values())
    print(f"\ntarget >= 20 events/s on {args.backend} ({args.topology}): "
          f"{'met' if best >= 20 else 'NOT MET'} (best {best:.1f}); "
          f"machine load at end: {os.getloadavg()[0]:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
