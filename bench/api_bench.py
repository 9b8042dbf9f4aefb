"""Accepted events per second and latency (p50, p99) through the HTTP API, with 1, 4 and 16
clients, on PostgreSQL, beside a trivial FastAPI endpoint on the same server in the same run.

The server is a real `uvicorn`, the API as `cin api --workers 2` runs it on this two-core
machine, with one extra route, `POST /trivial`, that parses a body of the same size and answers:
the ratio of the two is the cost of the engine's own work per event (authentication, the
idempotency check, the accept transaction, the access log row) over FastAPI's. Each client sends
its own cases' events in order: a referral, then nine events, then a new case. No Prefect:
accepting never waits for it (the outbox is delivered by `cin worker`).

    python bench/api_bench.py [--clients 1,4,16] [--seconds 10] [--workers 2] [--client httpx]

The clients run in this process on the same two cores as the server: by default one asyncio
loop with a keep-alive connection each, writing HTTP/1.1 by hand (`Connection`), so that the
cores go to the server; `--client httpx` runs an httpx client a thread instead, as the bench did
first. Beside each row: the CPU the server's processes, the database's backends and these
clients spent per request (from /proc), and the connections opened during it
(`pg_stat_database.sessions`): figures that depend far less on the machine's load than the
rates do. Under each events row, the latencies split: openings (a referral, one request in ten,
which takes the authority's case number) and events on open cases.

The machine is shared and small: figures measured on it say so, and the ratio is the number to
compare between runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg

TICK = os.sysconf("SC_CLK_TCK")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from demo.local_server import free_port  # noqa: E402

EVENTS = [
    {"type": "referral_decision", "on": "2025-03-04", "outcome": "assessment"},
    {"type": "assessment_started", "on": "2025-03-05"},
    {"type": "assessment_completed", "on": "2025-04-01", "outcome": "cin_plan"},
    {"type": "cin_meeting_held", "on": "2025-04-14"},
    {"type": "plan_distributed", "on": "2025-04-16"},
    {"type": "visit_recorded", "on": "2025-04-20"},
    {"type": "visit_recorded", "on": "2025-04-27"},
    {"type": "visit_recorded", "on": "2025-05-04"},
    {"type": "review_held", "on": "2025-05-26", "outcome": "continue"},
]
SERVER = """
import sys, uvicorn
from pydantic import BaseModel
from api.server import app as api_app

class Anything(BaseModel):
    recorded_by: str
    event: dict

def trivial(body: Anything) -> dict:
    return {"ok": True}

def app():
    guarded = api_app()
    guarded.app.add_api_route("/trivial", trivial, methods=["POST"], status_code=201)
    return guarded

if __name__ == "__main__":
    uvicorn.run("bench_api_server:app", factory=True, host="127.0.0.1", port=int(sys.argv[1]),
                workers=int(sys.argv[2]), access_log=False, log_level="warning")
"""


def cpu_seconds(root: int, database: str) -> tuple[float, float]:
    """CPU seconds used so far by the server (`root` and its worker processes) and by the
    PostgreSQL backends connected to `database` (read from /proc; Linux)."""
    server = backends = 0.0
    children: dict[int, list[int]] = {}
    used: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        pid, fields = int(entry.name), raw.rsplit(")", 1)[1].split()
        used[pid] = (int(fields[11]) + int(fields[12])) / TICK
        children.setdefault(int(fields[1]), []).append(pid)
        if command.startswith("postgres: ") and f" {database} " in command:
            backends += used[pid]
    stack = [root]
    while stack:
        pid = stack.pop()
        server += used.get(pid, 0.0)
        stack.extend(children.get(pid, []))
    return server, backends


def sessions_opened(admin: str, database: str) -> int:
    """Connections opened to `database` so far (PostgreSQL 14 and later)."""
    with psycopg.connect(admin, autocommit=True) as conn:
        row = conn.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = %s", (database,)
        ).fetchone()
    return int(row[0]) if row else 0


def request_for(trivial: bool, i: int, child: str, ref: str | None) -> tuple[str, dict[str, Any]]:
    """A client's i-th request of a case: its opening (i = 0), then its events in turn; or the
    trivial endpoint with the same body's size."""
    if trivial:
        return "/trivial", {"recorded_by": "sw-1", "event": EVENTS[i - 1]}
    if i == 0:
        opening = {"type": "referral_received", "on": "2025-03-03", "source": "10"}
        return "/v1/cases", {"child_ref": child, "recorded_by": "sw-1", "event": opening}
    return f"/v1/cases/{ref}/events", {"recorded_by": "sw-1", "event": EVENTS[i - 1]}


def run_clients(url: str, key: str, clients: int, seconds: float, trivial: bool) -> dict[str, Any]:
    """`clients` connections kept alive, each sending its requests one after another, from one
    asyncio loop in this process (see `Connection`)."""
    return asyncio.run(_run_clients(url, key, clients, seconds, trivial))


class Connection:
    """One keep-alive HTTP/1.1 connection speaking just what the bench sends and the API
    answers (a JSON body with its Content-Length). The clients are light so that the machine's
    two cores go to the server: 16 httpx clients in threads of one process cost about as much
    CPU a request as the trivial endpoint does (docs/http-api.md, Performance)."""

    def __init__(self, url: str, key: str) -> None:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        self.host, self.port = host, int(port)
        self.head = (
            f"Host: {host}:{port}\r\nAuthorization: Bearer {key}\r\n"
            "Content-Type: application/json\r\n"
        ).encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, idempotency_key: str) -> tuple[int, bytes]:
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(
            b"POST " + path.encode() + b" HTTP/1.1\r\n" + self.head
            + b"Idempotency-Key: " + idempotency_key.encode()
            + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )  # fmt: skip
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = next(
            int(line.split(b":", 1)[1])
            for line in lines[1:]
            if line.lower().startswith(b"content-length:")
        )
        return status, await self.reader.readexactly(length)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


async def _run_clients(
    url: str, key: str, clients: int, seconds: float, trivial: bool
) -> dict[str, Any]:
    latencies: list[float] = []
    openings: list[float] = []  # the referrals' latencies, also in `latencies`
    on_open_cases: list[float] = []  # the others'
    accepted = [0]
    errors: list[int] = []
    stop = time.monotonic() + seconds
    run = uuid.uuid4().hex[:8]

    async def client(number: int) -> None:
        http = Connection(url, key)
        try:
            case_number = 0
            while time.monotonic() < stop:
                case_number += 1
                child = f"B{run}N{number}C{case_number}"  # letters and digits (rule 1580)
                ref = None
                for i in range(len(EVENTS) + 1):
                    if time.monotonic() >= stop:
                        break
                    path, body = request_for(trivial, i, child, ref)
                    began = time.perf_counter()
                    status, answer = await http.post(
                        path, json.dumps(body).encode(), f"{child}-{i}"
                    )
                    latencies.append(time.perf_counter() - began)
                    if not trivial:
                        (on_open_cases if i else openings).append(latencies[-1])
                    if status != 201:
                        errors.append(status)
                        break
                    accepted[0] += 1
                    if i == 0 and not trivial:
                        ref = json.loads(answer)["case"]
        finally:
            await http.close()

    began = time.monotonic()
    await asyncio.gather(*(client(n) for n in range(clients)))
    elapsed = time.monotonic() - began
    return {
        "per_second": accepted[0] / elapsed,
        **percentiles("", latencies),
        **percentiles("opening_", openings),
        **percentiles("event_", on_open_cases),
        "requests": len(latencies),
        "openings": len(openings),
        "errors": errors[:5],
    }


def run_httpx_threads(
    url: str, key: str, clients: int, seconds: float, trivial: bool
) -> dict[str, Any]:
    """The bench's first clients: one httpx client a thread, in this process (`--client httpx`)."""
    latencies: list[float] = []
    openings: list[float] = []  # the referrals' latencies, also in `latencies`
    on_open_cases: list[float] = []  # the others'
    accepted = [0]
    errors: list[int] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    run = uuid.uuid4().hex[:8]

    def client(number: int) -> None:
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        mine: list[float] = []
        mine_opening: list[float] = []
        mine_event: list[float] = []
        ok = 0
        with httpx.Client(base_url=url, headers=headers, timeout=60) as http:
            case_number = 0
            while time.monotonic() < stop:
                case_number += 1
                child = f"B{run}N{number}C{case_number}"  # letters and digits (rule 1580)
                ref = None
                for i in range(len(EVENTS) + 1):
                    if time.monotonic() >= stop:
                        break
                    path, body = request_for(trivial, i, child, ref)
                    began = time.perf_counter()
                    answer = http.post(
                        path,
                        content=json.dumps(body),
                        headers={"Idempotency-Key": f"{child}-{i}"},
                    )
                    mine.append(time.perf_counter() - began)
                    if not trivial:
                        (mine_event if i else mine_opening).append(mine[-1])
                    if answer.status_code != 201:
                        with lock:
                            errors.append(answer.status_code)
                        break
                    ok += 1
                    if i == 0 and not trivial:
                        ref = answer.json()["case"]
        with lock:
            latencies.extend(mine)
            openings.extend(mine_opening)
            on_open_cases.extend(mine_event)
            accepted[0] += ok

    began = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    return {
        "per_second": accepted[0] / elapsed,
        **percentiles("", latencies),
        **percentiles("opening_", openings),
        **percentiles("event_", on_open_cases),
        "requests": len(latencies),
        "openings": len(openings),
        "errors": errors[:5],
    }


def percentiles(prefix: str, latencies: list[float]) -> dict[str, float]:
    """p50 and p99 of `latencies` (seconds) in ms, under `prefix`p50_ms and `prefix`p99_ms."""
    if not latencies:
        return {f"{prefix}p50_ms": float("nan"), f"{prefix}p99_ms": float("nan")}
    ordered = sorted(latencies)
    return {
        f"{prefix}p50_ms": 1000 * statistics.median(ordered),
        f"{prefix}p99_ms": 1000 * ordered[int(0.99 * (len(ordered) - 1))],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--db-prefix", default="cin21_bench_")
    parser.add_argument(
        "--workers", type=int, default=2, help="uvicorn worker processes (one a core here)"
    )
    parser.add_argument(
        "--client",
        choices=("asyncio", "httpx"),
        default="asyncio",
        help="one asyncio loop of keep-alive connections, or an httpx client a thread",
    )
    args = parser.parse_args()
    name = f"{args.db_prefix}{uuid.uuid4().hex[:8]}"
    admin = "host=127.0.0.1 user=postgres dbname=postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    data = Path(tempfile.mkdtemp(prefix="cin-api-bench-"))
    env = {
        **os.environ,
        "CIN_DATA_DIR": str(data),
        "CIN_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}",
        "CIN_TODAY": "2025-06-02",
        "CIN_API_RATE_PER_SECOND": "1000000",
        "CIN_API_RATE_BURST": "1000000",
    }
    server = None
    try:
        key = subprocess.run(
            [sys.executable, "-m", "cli.main", "api", "key", "create", "--authority",
             "redbridge", "--name", "bench", "--scope", "record"],
            env=env, cwd=REPO, check=True, capture_output=True, text=True,
        ).stdout.splitlines()[-1]  # fmt: skip
        port = free_port()
        log = (data / "api.log").open("ab")
        (data / "bench_api_server.py").write_text(SERVER)
        env["PYTHONPATH"] = os.pathsep.join([str(data), str(REPO)])
        env["CIN_API_WORKERS"] = str(args.workers)
        server = subprocess.Popen(
            [sys.executable, str(data / "bench_api_server.py"), str(port), str(args.workers)],
            env=env, cwd=REPO, stdout=log, stderr=log,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{url}/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        send = run_clients if args.client == "asyncio" else run_httpx_threads
        # warm-up: the first request of each kind loads what the server imports lazily
        send(url, key, 1, 1.0, True)
        send(url, key, 1, 1.0, False)
        print(f"HTTP API on PostgreSQL, {args.workers} uvicorn worker(s), {args.seconds:g} s "
              f"per run, {args.client} clients; the machine is shared and loaded: compare the "
              "ratio, not the absolute figures. CPU ms per request: the server's processes, "
              "PostgreSQL's backends for this database, and the clients (this process); "
              "connections: opened during the run")  # fmt: skip
        print(f"{'clients':>7} {'endpoint':10} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8} "
              f"{'requests':>8} {'cpu ms':>7} {'pg ms':>6} {'client':>6} "
              f"{'conns':>5}  errors")  # fmt: skip
        for clients in (int(c) for c in args.clients.split(",")):
            rows = {}
            for trivial in (True, False):
                cpu_before, opened = cpu_seconds(server.pid, name), sessions_opened(admin, name)
                client_before = time.process_time()
                got = send(url, key, clients, args.seconds, trivial)
                client_ms = (time.process_time() - client_before) * 1000 / max(1, got["requests"])
                cpu_after = cpu_seconds(server.pid, name)
                opened = sessions_opened(admin, name) - opened
                rows[trivial] = got
                label = "trivial" if trivial else "events"
                per = 1000 / max(1, got["requests"])
                server_ms = (cpu_after[0] - cpu_before[0]) * per
                pg_ms = (cpu_after[1] - cpu_before[1]) * per
                print(
                    f"{clients:>7} {label:10} {got['per_second']:>8.1f} {got['p50_ms']:>8.1f} "
                    f"{got['p99_ms']:>8.1f} {got['requests']:>8} {server_ms:>7.2f} "
                    f"{pg_ms:>6.2f} {client_ms:>6.2f} {opened:>5}  {got['errors'] or ''}"
                )
                if not trivial:  # where the p99 comes from: openings take the case number
                    print(
                        f"{'':>7} {'openings':10} {'':>8} {got['opening_p50_ms']:>8.1f} "
                        f"{got['opening_p99_ms']:>8.1f} {got['openings']:>8}\n"
                        f"{'':>7} {'on open':10} {'':>8} {got['event_p50_ms']:>8.1f} "
                        f"{got['event_p99_ms']:>8.1f} {got['requests'] - got['openings']:>8}"
                    )
            if rows[True]["per_second"]:
                ratio = rows[False]["per_second"] / rows[True]["per_second"]
                print(f"{clients:>7} {'ratio':10} {ratio:>8.2f}  (accepted events / trivial)")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
