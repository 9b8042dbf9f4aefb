"""What the Prefect server costs a benchmark run (bench/case_bench.py): its processes' CPU
seconds, its access log counted by endpoint, and how both are printed per event.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

from demo.local_server import PrefectServer

ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
REQUEST = re.compile(r'"(GET|POST|PUT|PATCH|DELETE) ([^ ?"]+)')


def server_cpu(server: PrefectServer) -> float:
    """CPU seconds the Prefect server's processes have used (one process serving the API and
    running the services; with `--topology split`, the API server and the services process):
    what a wake-up costs the bottleneck, whatever else loads the machine."""
    return sum(_cpu(pid) for pid in server_pids(server))


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


SERVICES: list[int] = []  # with --topology split: the services process's pid


def server_pids(server: PrefectServer) -> tuple[int, ...]:
    assert server.process is not None
    return (server.process.pid, *SERVICES)


def api_calls(server: PrefectServer) -> Counter[str]:
    """The server's access log so far, counted by endpoint (ids folded to `{id}`)."""
    log = server.home / "server.log"
    calls: Counter[str] = Counter()
    for line in log.read_text(errors="replace").splitlines():
        if "uvicorn.access" in line and (match := REQUEST.search(line)):
            calls[f"{match[1]} {ID.sub('{id}', match[2])}"] += 1
    return calls


def show_calls(calls: Counter[str], events: int, top: int) -> None:
    """The endpoints behind the calls per event, busiest first."""
    for endpoint, n in calls.most_common(top):
        print(f"    {n / events:5.2f}/event  {endpoint}")


RESUME = "POST /api/flow_runs/{id}/resume"


def show_cpu(result: dict, calls: Counter[str]) -> None:
    """CPU per event by process class over the throughput window, and events per wake-up."""
    events, cpu = result["events"], result["cpu"]
    total = sum(cpu.values())
    kinds = ("server", "services") if "services" in cpu else ("server",)
    parts = ", ".join(
        f"{'API server' if kind == 'server' and len(kinds) == 2 else kind} "
        f"{cpu.get(kind, 0.0) / events * 1e3:.0f}"
        for kind in (*kinds, "workers", "feeder", "postgres")
    )
    print(f"  CPU ms per event: {parts}; all {total / events * 1e3:.0f} "
          f"({total / result['seconds']:.2f} cores busy)")  # fmt: skip
    if calls[RESUME]:
        print(f"  {calls[RESUME]} resumes: {events / calls[RESUME]:.2f} events per wake-up")
