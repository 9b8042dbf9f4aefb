"""What one case run's creation and one wake-up ask of the Prefect server, counted in the worker.

The demo's case-run rounds in miniature (issue 20: `make demo` under 2 minutes): a local SQLite
Prefect server, `--cases` cases referred, then rounds in which each case gets one event, then
`--batch` events, each round ended by the demo's worker (`work(threads=4, until_idle=True)`).
Every HTTP request the worker process makes is counted by route (ids folded to `{id}`), at the
transport, and every Prefect event it emits by name (they go over one websocket, but the server
stores each and its services act on each): a count does not depend on the machine's load, so it
is the figure to compare before and after a change. The worker process's CPU seconds per wake-up
are printed beside the CPU seconds it spends accepting one event (`Ingest.record`, the same
process, the same run) as the reference, and the Prefect server's CPU per wake-up beside them.

    python bench/wakeup_calls.py [--cases 20] [--batch 3] [--threads 4]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.server_cost import server_cpu  # noqa: E402
from demo.local_server import PrefectServer, free_port  # noqa: E402

ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TODAY = date(2025, 3, 3)  # the simulated day of every round (CIN_TODAY)
REFERRED = date(2025, 1, 6)


# -- the child (Prefect imported only here, after the environment points at the server) --------


class Counts:
    """Requests by route and events by name, made by this process since the last `take`."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self.events: Counter[str] = Counter()

    def install(self) -> None:
        import httpx
        from prefect.events.worker import EventsWorker

        sync_send = httpx.HTTPTransport.handle_request
        async_send = httpx.AsyncHTTPTransport.handle_async_request
        counts = self

        def handle_request(transport, request):  # type: ignore[no-untyped-def]
            counts.requests[_route(request)] += 1
            return sync_send(transport, request)

        async def handle_async_request(transport, request):  # type: ignore[no-untyped-def]
            counts.requests[_route(request)] += 1
            return await async_send(transport, request)

        httpx.HTTPTransport.handle_request = handle_request  # type: ignore[method-assign]
        httpx.AsyncHTTPTransport.handle_async_request = handle_async_request  # type: ignore[method-assign]
        send = EventsWorker.send

        def send_event(worker, event):  # type: ignore[no-untyped-def]
            counts.events[_event_name(event)] += 1
            return send(worker, event)

        EventsWorker.send = send_event  # type: ignore[method-assign]

    def take(self) -> dict[str, dict[str, int]]:
        taken = {"requests": dict(self.requests), "events": dict(self.events)}
        self.requests.clear()
        self.events.clear()
        return taken


def _route(request: object) -> str:
    url = request.url  # type: ignore[attr-defined]
    return f"{request.method} {ID.sub('{id}', url.path)}"  # type: ignore[attr-defined]


def _event_name(event: object) -> str:
    name = str(getattr(event, "event", "?"))
    return re.sub(r"\.(Running|Pending|Completed|Paused|Suspended|Overdue|Scheduled|Resuming)$",
                  ".<state>", name)  # fmt: skip


def child(cases: int, batch: int, threads: int) -> None:
    counts = Counts()
    counts.install()
    from sqlmodel import Session, select

    from engine.ingest import Ingest
    from engine.worker import case_deployment_id, work
    from models.tables import Case

    ingest = Ingest.from_settings(deliver=False)
    case_deployment_id(ingest.engine)
    events = _events(1 + batch + 1)
    refs = [
        ingest.refer(authority="redbridge", child_ref=f"WAKE{i}", on=REFERRED).case_ref
        for i in range(cases)
    ]
    counts.take()  # the deployment's registration: once per worker process, not per case

    def round_(name: str, per_case: list[dict[str, str]]) -> dict[str, object]:
        accept_cpu = time.process_time()
        for ref in refs:
            for event in per_case:
                ingest.record(ref, event)
        accept_cpu = time.process_time() - accept_cpu
        counts.take()
        cpu, wall, server = time.process_time(), time.perf_counter(), _server_cpu()
        work(ingest.engine, threads=threads, until_idle=True)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        server = _server_cpu() - server
        with Session(ingest.engine) as session:
            behind = [r for r in session.exec(select(Case.flow_seq, Case.last_seq)) if r[0] != r[1]]
        assert not behind, f"{name}: {len(behind)} cases behind their log"
        return {"name": name, "accepted": len(per_case) * cases, "accept_cpu": accept_cpu,
                "cpu": cpu, "wall": wall, "server": server, **counts.take()}  # fmt: skip

    results = []
    counts.take()
    cpu, wall, server = time.process_time(), time.perf_counter(), _server_cpu()
    work(ingest.engine, threads=threads, until_idle=True)
    results.append({"name": "creation (first execution)", "accepted": cases, "accept_cpu": 0.0,
                    "cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall,
                    "server": _server_cpu() - server, **counts.take()})  # fmt: skip
    results.append(round_("wake-up, 1 event", events[:1]))
    results.append(round_(f"wake-up, {batch} events", events[1 : 1 + batch]))
    print("RESULT " + json.dumps(results), flush=True)


def _server_cpu() -> float:
    """CPU seconds the Prefect server process has used (its pid handed down by the parent)."""
    fields = Path(f"/proc/{os.environ['BENCH_SERVER_PID']}/stat").read_text().rsplit(")", 1)
    stat = fields[1].split()
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


def _events(n: int) -> list[dict[str, str]]:
    stream = [
        {"type": "referral_decision", "on": (REFERRED + timedelta(days=1)).isoformat(),
         "outcome": "assessment"},
        {"type": "assessment_completed", "on": (REFERRED + timedelta(days=16)).isoformat(),
         "outcome": "cin_plan"},
        {"type": "cin_meeting_held", "on": (REFERRED + timedelta(days=29)).isoformat()},
    ]  # fmt: skip
    day = REFERRED + timedelta(days=30)
    while len(stream) < n:
        stream.append({"type": "visit_recorded", "on": day.isoformat()})
        day += timedelta(days=2)
    return stream


# -- the parent ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False)
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--batch", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4, help="the demo's CASE_THREADS")
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    if args.child:
        child(args.cases, args.batch, args.threads)
        return
    with tempfile.TemporaryDirectory(prefix="cin-wakeups-") as tmp:
        server = PrefectServer(Path(tmp) / "prefect", free_port())
        server.start()
        try:
            assert server.process is not None
            env = {**server.env(), "CIN_DATA_DIR": str(Path(tmp) / "data"),
                   "CIN_TODAY": TODAY.isoformat(),
                   "BENCH_SERVER_PID": str(server.process.pid)}  # fmt: skip
            env.pop("CIN_DATABASE_URL", None)
            load = os.getloadavg()[0]
            server_before = server_cpu(server)
            out = subprocess.run(
                [sys.executable, __file__, "--child", "--cases", str(args.cases),
                 "--batch", str(args.batch), "--threads", str(args.threads)],
                env=env, cwd=REPO, capture_output=True, text=True, check=False,
            )  # fmt: skip
            server_used = server_cpu(server) - server_before
        finally:
            server.stop()
    lines = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]
    if out.returncode != 0 or not lines:
        raise SystemExit(f"bench child failed ({out.returncode}):\n{out.stderr[-3000:]}")
    print(f"{args.cases} cases, {args.threads} worker threads, SQLite Prefect server; "
          f"load average {load:.1f} at start, {os.getloadavg()[0]:.1f} at end")  # fmt: skip
    for phase in json.loads(lines[0].removeprefix("RESULT ")):
        runs = args.cases
        requests, events = Counter(phase["requests"]), Counter(phase["events"])
        line = (f"\n{phase['name']}: {requests.total() / runs:.1f} requests and "
                f"{events.total() / runs:.1f} events per run; worker CPU "
                f"{phase['cpu'] / runs * 1e3:.0f} ms, Prefect server CPU "
                f"{phase['server'] / runs * 1e3:.0f} ms per run, "
                f"{phase['wall']:.1f} s wall")  # fmt: skip
        if phase["accept_cpu"]:
            per_event = phase["accept_cpu"] / phase["accepted"]
            line += (f" ({phase['cpu'] / runs / per_event:.1f}x the "
                     f"{per_event * 1e3:.0f} ms of accepting one event)")  # fmt: skip
        print(line)
        for route, n in sorted(requests.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"    {n / runs:5.2f}  {route}")
        for name, n in sorted(events.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f"    {n / runs:5.2f}  event {name}")
    print(f"\nPrefect server CPU over the whole child: {server_used:.1f} s")


if __name__ == "__main__":
    main()
