"""A `cin worker`'s resident memory against the wake-ups it has handled, then while it idles.

One real `cin worker` process executes N cases x M events: the cases are opened, then fed one
event per case a round, and each round waits until every case has caught up, so each event is one
wake-up (resume, work, suspend). Every `--every` wake-ups, and every 10 s of an idle tail that
follows, the worker's VmRSS (/proc/<pid>/status), threads, open file descriptors and CPU seconds
used are printed. A worker that keeps something per run or per poll grows with the wake-ups, or
with the idle time.

Runs anywhere, like bench/case_bench.py: its own Prefect server on a free port, its own
CIN_DATA_DIR, the child's environment set before Prefect is imported; its PostgreSQL databases are
named `--db-prefix` + prefect / cases and dropped at the end.

    python bench/worker_memory.py [--cases 20] [--events 30] [--every 100] [--idle 60]
                                  [--threads 2] [--poll 0.2] [--backend postgres|sqlite]
                                  [--db-prefix cin_mem_]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import case_bench  # noqa: E402
from demo.local_server import PrefectServer, free_port  # noqa: E402


def sample(pid: int) -> tuple[float, int, int, float]:
    """(VmRSS in MB, threads, open file descriptors, CPU seconds used) of a live process."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["Threads"]), fds, cpu


def child(cases: int, events: int, every: int, idle: float, threads: int, poll: float) -> None:
    """Drive one worker process; Prefect is imported here, after the environment is set."""
    from sqlmodel import Session, select

    from engine.ingest import Ingest
    from engine.worker import case_deployment_id
    from models.tables import Case

    ingest = Ingest.from_settings()
    case_deployment_id(ingest.engine)
    worker = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "worker", "--threads", str(threads),
         "--poll", str(poll)],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip

    def handled() -> int | None:
        """Events handled by the case runs, or None while any case is behind."""
        with Session(ingest.engine) as session:
            rows = session.exec(select(Case.flow_seq, Case.last_seq)).all()
        if len(rows) < cases or any(f != last for f, last in rows):
            return None
        return sum(f for f, _ in rows)

    def caught_up() -> int:
        while (n := handled()) is None:
            if worker.poll() is not None:
                raise SystemExit(f"worker exited ({worker.returncode})")
            time.sleep(0.05)
        return n

    def show(label: str, wakeups: int, t0: float) -> None:
        rss, nthreads, fds, cpu = sample(worker.pid)
        print(f"{label:<6} {wakeups:8d} {time.monotonic() - t0:8.0f} {rss:8.1f} "
              f"{nthreads:8d} {fds:6d} {cpu:8.1f}  {os.getloadavg()[0]:5.1f}",
              flush=True)  # fmt: skip

    try:
        refs = [
            ingest.refer(authority="redbridge", child_ref=f"MEM{i}", on=date(2024, 3, 4)).case_ref
            for i in range(cases)
        ]
        base = caught_up()  # the opening runs: the worker's first wake-ups, its warm-up
        t0 = time.monotonic()
        print(f"{'':<6} {'wake-ups':>8} {'seconds':>8} {'RSS MB':>8} {'threads':>8} "
              f"{'fds':>6} {'CPU s':>8}  {'load':>5}")  # fmt: skip
        show("start", 0, t0)
        stream = case_bench.case_events(events)
        shown = 0
        for event in stream[:events]:
            for ref in refs:
                ingest.record(ref, event)
            done = caught_up() - base
            if done // every > shown // every:
                show("busy", done, t0)
                shown = done
        t_idle = time.monotonic()
        while time.monotonic() - t_idle < idle:
            time.sleep(min(10.0, idle - (time.monotonic() - t_idle)))
            show("idle", shown, t0)
    finally:
        worker.terminate()
        worker.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False)
    parser.add_argument("--backend", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--events", type=int, default=30, help="events per case")
    parser.add_argument("--every", type=int, default=100, help="wake-ups between samples")
    parser.add_argument("--idle", type=float, default=60.0, help="seconds sampled idle after")
    parser.add_argument("--threads", type=int, default=2, help="threads of the worker")
    parser.add_argument("--poll", type=float, default=0.2, help="the worker's --poll seconds")
    parser.add_argument("--db-prefix", default="cin_mem_", help="PostgreSQL database name prefix")
    parser.add_argument("--child", nargs="*")
    args = parser.parse_args()
    if args.child is not None:
        child(args.cases, args.events, args.every, args.idle, args.threads, args.poll)
        return
    case_bench.DB_PREFIX = args.db_prefix
    with tempfile.TemporaryDirectory(prefix="cin-memory-") as tmp:
        workdir = Path(tmp)
        prefect_db = None
        if args.backend == "postgres":
            name = case_bench.fresh_pg_database(args.db_prefix + "prefect")
            prefect_db = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
        server = PrefectServer(workdir / "prefect", free_port(), database_url=prefect_db)
        server.start()
        try:
            print(f"{args.cases} cases x {args.events} events through one `cin worker` "
                  f"({args.threads} threads, poll {args.poll}s) on {args.backend}; "
                  f"load average at start {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
            env = case_bench.child_env(server, args.backend, workdir, "cases")
            passed = ["--cases", str(args.cases), "--events", str(args.events), "--every",
                      str(args.every), "--idle", str(args.idle), "--threads", str(args.threads),
                      "--poll", str(args.poll)]  # fmt: skip
            subprocess.run(
                [sys.executable, __file__, *passed, "--child"], env=env, cwd=REPO, check=True
            )
        finally:
            server.stop()
            if args.backend == "postgres":
                case_bench.drop_databases()
    print(f"load average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
