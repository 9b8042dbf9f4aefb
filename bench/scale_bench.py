"""Issue 23, part 2: a large council's suspended case runs on one Prefect server, each figure at
`--cases` N beside the same figure at 200 runs, measured in the same run on the same server.

The runs are built by the engine itself: cases accepted through `engine.ingest.Ingest` (the
accept path of the API and `cin import`, one transaction a case, the outbox row with it), then
two `cin worker` processes started, as after a go-live import: their polls deliver the outbox,
which creates each case's run from the case deployment, and execute it until it suspends.
Nothing is written into Prefect's tables. The bench grows one world: 200 cases, every figure,
then N - 200 more cases, every figure again.

1. time until every case has its suspended run, from the workers' start (issue 23 part 1's
   last figure: "then the workers create the runs");
2. one event's latency, accepted and delivered as the API does (`Ingest(deliver=True)`), until
   its case's run is Paused again at a state written after the accept (p50, p95 over
   `--events` events to random cases, one at a time, the workers serving);
3. a serving worker's housekeeping pass (`engine.worker._outbox_pass` with housekeeping, as the
   worker runs it every 10 s) and the reconciler's pass (`deliver_pending`): wall time and the
   Prefect requests each makes, counted at this process's HTTP transport, workers stopped;
4. the monitor's relabelling of the overdue runs (min(2,000, N/10) cases overdue): the monitor
   pass (`run_pass`, case database) and then `relabel_runs` (Prefect) timed with its requests;
5. Prefect's database size (`pg_database_size`) per case, and its growth per wake-up over (2).

Every case is referred on 2025-02-28 with the clock pinned to 2025-03-03 (CIN_TODAY); a tenth
(at most 2,000) get nothing more, so their referral decision (due 2025-03-03) is overdue at the
monitor's date, 2025-03-10; the others have the decision recorded (assessment due in April).

    python bench/scale_bench.py [--cases 1000] [--events 50] [--threads 2] [--workers 2]
                                [--db-prefix cin_scale_] [--topology one|split] [--redis-db 14]
                                [--server-env NAME=VALUE ...]

It also prints the idle server's CPU (no worker, no client, 20 s) and, from the server's access
log, its requests and CPU a case while the runs are built.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
import redis

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import ui_timing  # noqa: E402
from bench.cin_workers import start_workers  # noqa: E402
from bench.server_cost import SERVICES, api_calls, server_cpu, server_pids  # noqa: E402
from bench.wakeup_calls import Counts  # noqa: E402
from demo.local_server import PrefectServer, free_port  # noqa: E402
from demo.topology import Topology  # noqa: E402

PG = "host=127.0.0.1 user=postgres dbname=postgres"
REFERENCE = 200  # the runs every figure is compared against
TODAY = date(2025, 3, 3)  # CIN_TODAY of every process
REFERRED = date(2025, 2, 28)
MONITOR_DAY = date(2025, 3, 10)  # the decisions due 2025-03-03 are overdue
PASSES = 5  # housekeeping passes timed, median taken
IDLE_SECONDS = 20.0  # the idle server's CPU sampled over this long (its services loop every 5 s)


def _proc_cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


class World:
    """The child's side: one case database, one Prefect server, grown in steps."""

    def __init__(self, workers: int, threads: int, prefect_db: str) -> None:
        self.counts = Counts()
        self.counts.install()
        from engine.ingest import Ingest
        from engine.worker import case_deployment_id

        self.importer = Ingest.from_settings(deliver=False)  # a go-live import: no delivery
        self.api = Ingest.from_settings(deliver=True)  # events as the HTTP API accepts them
        self.engine = self.importer.engine
        case_deployment_id(self.engine)
        self.workers, self.threads = workers, threads
        self.prefect_db = prefect_db
        self.server_pids = [int(p) for p in os.environ["SCALE_SERVER_PIDS"].split(",")]
        self.refs: list[str] = []
        self.quiet: list[str] = []  # decision recorded: the latency events go to these
        self.overdue = 0
        self.procs: list[subprocess.Popen[bytes]] = []

    # -- workers ---------------------------------------------------------------------------

    def start_workers(self) -> None:
        self.procs = start_workers(self.workers, self.threads)

    def stop_workers(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            proc.wait(timeout=60)
        self.procs = []

    # -- the figures -------------------------------------------------------------------------

    def grow(self, total: int) -> dict[str, Any]:
        """Accept cases up to `total`, then start the workers and wait until every case's run
        is suspended at its last event."""
        overdue_target = min(2000, total // 10)
        start = len(self.refs)
        t0 = time.perf_counter()
        for i in range(start, total):
            ref = self.importer.refer(
                authority="redbridge", child_ref=f"SCALE{i}", on=REFERRED
            ).case_ref
            self.refs.append(ref)
            if self.overdue < overdue_target:
                self.overdue += 1
            else:
                self.importer.record(
                    ref,
                    {"type": "referral_decision", "on": TODAY.isoformat(),
                     "outcome": "assessment"},
                )  # fmt: skip
                self.quiet.append(ref)
        accepted = time.perf_counter() - t0
        self.counts.take()
        print("MARK build", flush=True)  # the parent counts the server's requests from here
        t1 = time.perf_counter()
        self.start_workers()
        while self.behind() > 0:
            time.sleep(0.5)
        built = time.perf_counter() - t1
        print("MARK built", flush=True)
        paused = self.paused_runs()
        return {
            "added": total - start,
            "accept_s": accepted,
            "build_s": built,
            "paused": paused,
            "overdue_cases": self.overdue,
        }

    def behind(self) -> int:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    text(
                        'SELECT count(*) FROM "case" WHERE flow_run_id IS NULL '
                        "OR flow_seq < last_seq"
                    )
                ).scalar_one()
            )

    def paused_runs(self) -> int:
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import (
            FlowRunFilter,
            FlowRunFilterState,
            FlowRunFilterStateType,
        )
        from prefect.client.schemas.objects import StateType

        deadline = time.monotonic() + 60
        with get_client(sync_client=True) as client:
            while True:
                n = client.count_flow_runs(
                    flow_run_filter=FlowRunFilter(
                        state=FlowRunFilterState(
                            type=FlowRunFilterStateType(any_=[StateType.PAUSED])
                        )
                    )
                )
                if n >= len(self.refs) or time.monotonic() > deadline:
                    return n
                time.sleep(0.5)

    def latency(self, events: int, rng: random.Random) -> dict[str, Any]:
        """Events one at a time to random quiet cases, each until its run is Paused again."""
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.objects import StateType
        from sqlmodel import Session, select

        from models.tables import Case

        picked = rng.sample(self.quiet, min(events, len(self.quiet)))
        gone = set(picked)
        self.quiet = [r for r in self.quiet if r not in gone]
        size0 = self.db_size()
        server0 = _proc_cpu(self.server_pids)
        waits: list[float] = []
        with get_client(sync_client=True) as client:
            for ref in picked:
                with Session(self.engine) as session:
                    run_id = session.exec(
                        select(Case.flow_run_id).where(Case.case_ref == ref)
                    ).one()
                t0 = time.perf_counter()
                accepted_at = datetime.now(UTC)
                self.api.record(
                    ref,
                    {"type": "assessment_completed", "on": TODAY.isoformat(),
                     "outcome": "cin_plan"},
                )  # fmt: skip
                while True:
                    run = client.read_flow_run(run_id)
                    state = run.state
                    if (
                        state is not None
                        and state.type is StateType.PAUSED
                        and state.timestamp is not None
                        and state.timestamp > accepted_at
                    ):
                        break
                    time.sleep(0.02)
                waits.append(time.perf_counter() - t0)
        time.sleep(3)  # the server's services write the wake-ups' events in batches
        waits.sort()
        return {
            "events": len(waits),
            "p50": statistics.median(waits),
            "p95": waits[min(len(waits) - 1, round(0.95 * (len(waits) - 1)))],
            "server_cpu_per_event": (_proc_cpu(self.server_pids) - server0) / len(waits),
            "db_growth_per_wakeup": (self.db_size() - size0) / len(waits),
        }

    def housekeeping(self) -> dict[str, Any]:
        from engine.worker import _outbox_pass
        from tasks.run_repair import deliver_pending

        out: dict[str, Any] = {}
        for name, one_pass in (
            ("worker", lambda: _outbox_pass(self.engine, True, patient=True, settle=True)),
            ("reconciler", lambda: deliver_pending(self.engine)),
        ):
            one_pass()  # warm: the client and the deployment id made once per process
            self.counts.take()
            times, cpu = [], _proc_cpu(self.server_pids)
            for _ in range(PASSES):
                t0 = time.perf_counter()
                one_pass()
                times.append(time.perf_counter() - t0)
            requests = self.counts.take()["requests"]
            out[name] = {
                "seconds": statistics.median(times),
                "requests": sum(requests.values()) / PASSES,
                "by_route": {k: v / PASSES for k, v in sorted(requests.items())},
                "server_cpu": (_proc_cpu(self.server_pids) - cpu) / PASSES,
            }
        return out

    def monitor(self) -> dict[str, Any]:
        from prefect.client.orchestration import get_client

        from models.runtime import policies
        from notifications.monitor import MonitorConfig, run_pass
        from tasks.case_labels import relabel_runs

        config = MonitorConfig(ui_url="http://127.0.0.1:4200", smtp_url=None, deliver=False,
                               digests=False)  # fmt: skip
        t0 = time.perf_counter()
        report = run_pass(self.engine, policies(), as_of=MONITOR_DAY,
                          now=datetime.now(UTC), config=config)  # fmt: skip
        passed = time.perf_counter() - t0
        changed = report.changed_cases()
        self.counts.take()
        cpu = _proc_cpu(self.server_pids)
        t1 = time.perf_counter()
        with get_client(sync_client=True) as client:
            written = relabel_runs(client, self.engine, MONITOR_DAY, report.overdue_cases, changed)
        relabelled = time.perf_counter() - t1
        requests = self.counts.take()["requests"]
        return {
            "pass_s": passed,
            "overdue": len(report.overdue_cases),
            "changed": len(changed),
            "written": written,
            "relabel_s": relabelled,
            "requests": sum(requests.values()),
            "by_route": dict(sorted(requests.items())),
            "server_cpu": _proc_cpu(self.server_pids) - cpu,
            "overdue_runs": {ref: str(run) for ref, run in report.overdue_cases.items() if run},
        }

    def idle_cpu(self, seconds: float = IDLE_SECONDS) -> float:
        """The Prefect server's CPU share with no worker and no client: what its services cost
        for the runs it holds (a suspended run is meant to cost nothing until its next event)."""
        cpu = _proc_cpu(self.server_pids)
        time.sleep(seconds)
        return (_proc_cpu(self.server_pids) - cpu) / seconds

    def db_size(self) -> int:
        name = self.prefect_db.rsplit("/", 1)[1]
        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute("CHECKPOINT")
            row = conn.execute("SELECT pg_database_size(%s)", (name,)).fetchone()
        assert row is not None
        return int(row[0])


def child(sizes: list[int], events: int, workers: int, threads: int, prefect_db: str) -> None:
    world = World(workers, threads, prefect_db)
    rng = random.Random(23)
    for total in sizes:
        figures: dict[str, Any] = {"runs": total}
        try:
            figures["build"] = world.grow(total)
            figures["latency"] = world.latency(events, rng)
        finally:
            world.stop_workers()
        figures["size"] = world.db_size()
        figures["idle_cpu"] = world.idle_cpu()
        figures["housekeeping"] = world.housekeeping()
        figures["monitor"] = world.monitor()
        print("RESULT " + json.dumps(figures), flush=True)
        sys.stdin.readline()  # the parent has opened the UI's pages; the world may grow


# -- the parent ----------------------------------------------------------------------------------


CREATED: list[str] = []


def fresh_pg_database(name: str) -> str:
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    CREATED.append(name)
    return name


def drop_databases() -> None:
    with psycopg.connect(PG, autocommit=True) as conn:
        for name in CREATED:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def autovacuum() -> str:
    with psycopg.connect(PG, autocommit=True) as conn:
        row = conn.execute("SHOW autovacuum").fetchone()
    return str(row[0]) if row else "?"


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def ratio(a: float, b: float) -> str:
    return f"x{a / b:.2f}" if b else "-"


def show(ref: dict[str, Any], big: dict[str, Any]) -> None:
    n, r = big["runs"], ref["runs"]

    def row(what: str, a: float, b: float, unit: str, fmt: str = ".2f") -> None:
        print(f"  {what:<52} {b:>10{fmt}} {unit:<4} {a:>10{fmt}} {unit:<4} {ratio(b, a)}")

    print(f"\n{'figure':<54} {f'at {n}':>15} {f'at {r}':>15}  ratio")
    rb, bb = ref["build"], big["build"]
    print("1. until every case has its suspended run (workers' start)")
    row(f"seconds for the cases added ({bb['added']} vs {rb['added']})", rb["build_s"],
        bb["build_s"], "s", ".1f")  # fmt: skip
    row("ms a case", rb["build_s"] / rb["added"] * 1e3, bb["build_s"] / bb["added"] * 1e3, "ms",
        ".1f")  # fmt: skip
    row("accept, ms a case (before the workers)", rb["accept_s"] / rb["added"] * 1e3,
        bb["accept_s"] / bb["added"] * 1e3, "ms", ".1f")  # fmt: skip
    print(f"  Paused runs on the server: {bb['paused']} (of {n}); at {r}: {rb['paused']}")
    rl, bl = ref["latency"], big["latency"]
    print(f"2. one event, accept -> its run Paused again ({bl['events']} events, workers serving)")
    row("p50", rl["p50"] * 1e3, bl["p50"] * 1e3, "ms", ".0f")
    row("p95", rl["p95"] * 1e3, bl["p95"] * 1e3, "ms", ".0f")
    row("Prefect server CPU an event", rl["server_cpu_per_event"] * 1e3,
        bl["server_cpu_per_event"] * 1e3, "ms", ".0f")  # fmt: skip
    print(f"3. housekeeping passes (median of {PASSES}, workers stopped)")
    for name in ("worker", "reconciler"):
        a, b = ref["housekeeping"][name], big["housekeeping"][name]
        row(f"{name}: wall", a["seconds"] * 1e3, b["seconds"] * 1e3, "ms", ".0f")
        row(f"{name}: Prefect requests", a["requests"], b["requests"], "", ".1f")
        row(f"{name}: Prefect server CPU", a["server_cpu"] * 1e3, b["server_cpu"] * 1e3, "ms",
            ".0f")  # fmt: skip
        print(f"    at {n}: {b['by_route']}")
    rm, bm = ref["monitor"], big["monitor"]
    print(f"4. monitor: {bm['overdue']} overdue cases at {n} ({bm['changed']} changed, "
          f"{bm['written']} runs written); at {r}: {rm['overdue']} ({rm['changed']}, "
          f"{rm['written']})")  # fmt: skip
    row("monitor pass (case database)", rm["pass_s"], bm["pass_s"], "s", ".2f")
    row("relabelling (Prefect)", rm["relabel_s"], bm["relabel_s"], "s", ".2f")
    row("relabelling, ms a run written", rm["relabel_s"] / max(1, rm["written"]) * 1e3,
        bm["relabel_s"] / max(1, bm["written"]) * 1e3, "ms", ".0f")  # fmt: skip
    row("requests a run written", rm["requests"] / max(1, rm["written"]),
        bm["requests"] / max(1, bm["written"]), "", ".1f")  # fmt: skip
    print(f"    at {n}: {bm['by_route']}")
    print("idle (no worker, no client, 20 s)")
    row("Prefect server CPU, % of a core", ref["idle_cpu"] * 100, big["idle_cpu"] * 100, "%",
        ".1f")  # fmt: skip
    print("5. Prefect's database")
    row("size, MB", ref["size"] / 1e6, big["size"] / 1e6, "MB", ".1f")
    row("per case, KB", ref["size"] / r / 1e3, big["size"] / n / 1e3, "KB", ".1f")
    row("growth a wake-up, KB", rl["db_growth_per_wakeup"] / 1e3,
        bl["db_growth_per_wakeup"] / 1e3, "KB", ".1f")  # fmt: skip
    print(f"6. Prefect UI in Chromium, time to content (median of {ui_timing.LOADS} loads; "
          "then until the network is idle)")  # fmt: skip
    for name, what in (("runs_overdue", "runs list, ?tag=overdue"), ("case_page", "a case page")):
        a, b = ref["ui"][name], big["ui"][name]
        row(f"{what}: content", a["content_median"], b["content_median"], "s", ".2f")
        row(f"{what}: network idle", a["idle_median"], b["idle_median"], "s", ".2f")
        print(f"    at {n}: loads {[round(x, 2) for x in b['content']]} s, "
              f"{b['shown']} references shown")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False)
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--db-prefix", default="cin_scale_")
    parser.add_argument("--topology", choices=["one", "split"], default="one")
    parser.add_argument("--redis-db", type=int, default=14)
    parser.add_argument(
        "--server-env", action="append", default=[], metavar="NAME=VALUE",
        help="a setting for the Prefect server process(es), e.g. "
        "PREFECT_SERVER_SERVICES_PAUSE_EXPIRATIONS_ENABLED=false",
    )  # fmt: skip
    parser.add_argument("--shots", type=Path, help="where the UI pages' screenshots are kept",
                        default=Path(tempfile.gettempdir()) / "cin-scale-shots")  # fmt: skip
    parser.add_argument("--child", nargs="*")
    args = parser.parse_args()
    if args.child is not None:
        sizes = [int(x) for x in args.child[0].split(",")]
        child(sizes, args.events, args.workers, args.threads, args.child[1])
        return
    if args.cases <= REFERENCE:
        raise SystemExit(f"--cases: more than the {REFERENCE}-run reference")
    if not Path(ui_timing.CHROMIUM).exists():  # found before the build, not after it
        raise SystemExit(f"no Chromium at {ui_timing.CHROMIUM}: run `make browser` first")
    print(f"start: {uptime()}", flush=True)
    os.environ["PREFECT_SERVER_LOGGING_LEVEL"] = "INFO"  # one access-log line per API call
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cin-scale-") as tmp:
        workdir = Path(tmp)
        prefect_db = "postgresql+asyncpg://postgres@127.0.0.1:5432/" + fresh_pg_database(
            args.db_prefix + "prefect"
        )
        cases_db = fresh_pg_database(args.db_prefix + "cases")
        extra = dict(item.split("=", 1) for item in args.server_env)
        os.environ.update(extra)  # the servers' environment (PrefectServer and Topology)
        topology: Topology | None = None
        if args.topology == "split":
            redis.Redis(db=args.redis_db).flushdb()
            topology = Topology(workdir / "prefect", database_url=prefect_db,
                                redis_db=args.redis_db, api_servers=1)  # fmt: skip
            server = topology.servers[0]
        else:
            server = PrefectServer(workdir / "prefect", free_port(), database_url=prefect_db)
        server.ui = True  # the operators' pages are timed in Chromium (bench/ui_timing.py)
        results: list[dict[str, Any]] = []
        try:
            if topology is not None:
                topology.start()
                assert topology.services.process is not None
                SERVICES.append(topology.services.process.pid)
                env = topology.client_env(0)
            else:
                server.start()
                env = server.env()
            env = {**env, "CIN_DATA_DIR": str(workdir / "cin"), "CIN_TODAY": TODAY.isoformat(),
                   "PREFECT_LOGGING_LEVEL": "ERROR",
                   "CIN_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{cases_db}",
                   "SCALE_SERVER_PIDS": ",".join(str(p) for p in server_pids(server))}  # fmt: skip
            cpu0 = server_cpu(server)
            proc = subprocess.Popen(
                [sys.executable, __file__, "--child", f"{REFERENCE},{args.cases}", prefect_db,
                 "--events", str(args.events), "--workers", str(args.workers),
                 "--threads", str(args.threads)],
                env=env, cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            assert proc.stdin is not None and proc.stdout is not None
            ui = server.api_url.removesuffix("/api")
            marks: dict[str, Any] = {}
            builds: list[Any] = []
            for line in proc.stdout:
                if line.startswith("MARK build\n"):
                    marks = {"calls": api_calls(server), "cpu": server_cpu(server)}
                elif line.startswith("MARK built"):
                    time.sleep(1.0)  # the access log is written by the server's own thread
                    builds.append((api_calls(server) - marks["calls"],
                                   server_cpu(server) - marks["cpu"]))  # fmt: skip
                elif line.startswith("RESULT "):
                    results.append(json.loads(line.removeprefix("RESULT ")))
                    runs = results[-1]["runs"]
                    results[-1]["ui"] = ui_timing.measure(
                        ui, server.auth_string, results[-1]["monitor"]["overdue_runs"],
                        args.shots, f"{args.topology}-{runs}",
                    )  # fmt: skip
                    print(f"[{time.perf_counter() - started:.0f}s] {runs} runs measured",
                          flush=True)  # fmt: skip
                    proc.stdin.write("go\n")
                    proc.stdin.flush()
            if proc.wait() != 0:
                raise SystemExit(f"bench child failed ({proc.returncode})")
            cpu = server_cpu(server) - cpu0
        finally:
            if topology is not None:
                topology.stop()
                redis.Redis(db=args.redis_db).flushdb()
            else:
                server.stop()
            drop_databases()
    print(f"\nPrefect server settings: {extra or 'as the engine starts it'}; PostgreSQL "
          f"autovacuum {autovacuum()} (off: no dead row's space is reused, so the sizes in 5 "
          "include every row version written)")  # fmt: skip
    print(f"Prefect server ({args.topology}) and case database on PostgreSQL; "
          f"{args.workers} cin workers x {args.threads} threads; the server's CPU over the run "
          f"{cpu:.0f} s; the whole run {time.perf_counter() - started:.0f} s")  # fmt: skip
    show(results[0], results[1])
    print("   the server's side of building the runs (its access log), per case added:")
    for (calls, cpu), result in zip(builds, results, strict=True):
        added = result["build"]["added"]
        top = ", ".join(f"{k} {v / added:.1f}" for k, v in calls.most_common(6))
        print(f"   {result['runs']} runs: {calls.total() / added:.1f} requests and "
              f"{cpu / added * 1e3:.0f} ms of server CPU a case: {top}")  # fmt: skip
    print(f"\nend: {uptime()}")


if __name__ == "__main__":
    main()
