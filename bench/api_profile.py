"""Where one accepted event's CPU goes in the API server: the ASGI app driven in this process
(no network, no uvicorn) against a new PostgreSQL database, one event after another.

Prints the CPU an accepted event costs in this process (all its threads: the app, the test
client, SQLAlchemy), the statements it sends, and with `--profile` the top of cProfile's table.
Both figures depend far less on the machine's load than a rate does; the trivial endpoint of
`bench/api_bench.py` is the reference, measured in the same run.

    python bench/api_profile.py [--events 400] [--profile 30]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.api_bench import EVENTS  # noqa: E402

ADMIN = "host=127.0.0.1 user=postgres dbname=postgres"


def requests(count: int, run: str) -> list[tuple[str | None, dict[str, Any], str]]:
    """(case index or None for an opening, body, Idempotency-Key): a referral, then nine."""
    out: list[tuple[str | None, dict[str, Any], str]] = []
    case = 0
    while len(out) < count:
        child = f"P{run}C{case}"
        out.append((None, {
            "child_ref": child,
            "recorded_by": "sw-1",
            "event": {"type": "referral_received", "on": "2025-03-03", "source": "10"},
        }, f"{child}-0"))  # fmt: skip
        for i, event in enumerate(EVENTS, start=1):
            out.append((child, {"recorded_by": "sw-1", "event": event}, f"{child}-{i}"))
        case += 1
    return out[:count]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=400)
    parser.add_argument("--show-sql", action="store_true", help="print the last event's SQL")
    parser.add_argument("--callees", default="", help="with --profile: what these functions call")
    parser.add_argument("--profile", type=int, default=0, help="print this many cProfile rows")
    args = parser.parse_args()
    name = f"cin21_profile_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    os.environ.update(
        CIN_DATA_DIR=tempfile.mkdtemp(prefix="cin-api-profile-"),
        CIN_DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}",
        CIN_TODAY="2025-06-02",
        CIN_API_RATE_PER_SECOND="1000000",
        CIN_API_RATE_BURST="1000000",
    )
    try:
        return measure(args.events, args.profile, args.show_sql, args.callees)
    finally:
        from models.database import get_engine

        get_engine.cache_clear()
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def call(app: Any, method: str, path: str, headers: dict[str, str], body: bytes) -> Any:
    """One request through the ASGI app as uvicorn would hand it over: (status, body)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    sent = False
    status, chunks = 0, []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


def measure(count: int, rows: int, show: bool, callees: str) -> int:
    import asyncio

    from sqlalchemy import event

    from api.app import create_app
    from models.access.keys import create_key

    app = create_app()
    engine = app.app.state.engine
    key = create_key(engine, authority="redbridge", name="profile", scope="record")[1]
    statements = [0]
    shown: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def counted(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements[0] += 1
        if show:
            shown.append(" ".join(statement.split())[:160])

    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    async def send(batch: list[tuple[str | None, dict[str, Any], str]]) -> None:
        refs: dict[str, str] = {}
        for child, body, idempotency in batch:
            path = "/v1/cases" if child is None else f"/v1/cases/{refs[child]}/events"
            content = json.dumps(body).encode()
            sized = {**headers, "Idempotency-Key": idempotency, "Content-Length": str(len(content))}
            if show:
                shown.clear()
            status, answer = await call(app, "POST", path, sized, content)
            if status != 201:
                raise SystemExit(f"{path}: {status} {answer.decode()}")
            if child is None:
                refs[body["child_ref"]] = json.loads(answer)["case"]

    async def health(times: int) -> None:
        for _ in range(times):
            status, _answer = await call(app, "GET", "/v1/health", {}, b"")
            assert status == 200

    async def run() -> tuple[float, float, float]:
        await send(requests(20, "warm"))  # what the first requests import and cache
        await health(20)
        before = time.process_time()
        await health(count)
        health_cpu = time.process_time() - before
        batch = requests(count, uuid.uuid4().hex[:6])
        statements[0] = 0
        if profiler:
            profiler.enable()
        before, began = time.process_time(), time.perf_counter()
        await send(batch)
        cpu, wall = time.process_time() - before, time.perf_counter() - began
        if profiler:
            profiler.disable()
        return cpu, wall, health_cpu

    profiler = cProfile.Profile(time.thread_time) if rows else None  # CPU, not wall
    if profiler:  # cProfile sees one thread: under it, the sync routes run on the loop's
        import anyio.to_thread

        async def inline(func: Any, *args: Any, **_: Any) -> Any:
            return func(*args)

        anyio.to_thread.run_sync = inline  # type: ignore[assignment]
    cpu, wall, health_cpu = asyncio.run(run())
    print(
        f"{count} accepted events in process on PostgreSQL: {1000 * cpu / count:.2f} ms of CPU "
        f"and {1000 * wall / count:.2f} ms of wall an event, {statements[0] / count:.2f} "
        f"statements an event; GET /v1/health (one SELECT 1): {1000 * health_cpu / count:.2f} ms "
        f"of CPU; load average {os.getloadavg()[0]:.1f}" + (" (under cProfile)" if rows else "")
    )
    if show:
        print("\n".join(shown))
    if profiler:
        by_package(pstats.Stats(profiler))
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(rows)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(rows)
        if callees:
            pstats.Stats(profiler).sort_stats("cumulative").print_callees(callees)
    return 0


def by_package(stats: pstats.Stats) -> None:
    """Own CPU (cProfile's tottime) summed by package: where the time is spent, not who asked."""
    totals: dict[str, float] = {}
    for (path, _line, _name), (_cc, _nc, own, _cum, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if "site-packages/" in path:
            package = path.split("site-packages/")[1].split("/")[0]
        elif path.startswith(str(REPO)):
            package = "cin: " + path[len(str(REPO)) + 1 :].split("/")[0]
        elif path.startswith("~") or path.startswith("<"):
            package = "builtins"
        else:
            package = "python: " + Path(path).name
        totals[package] = totals.get(package, 0.0) + own
    whole = sum(totals.values())
    for package, own in sorted(totals.items(), key=lambda item: -item[1])[:20]:
        print(f"{100 * own / whole:5.1f}%  {package}")


if __name__ == "__main__":
    raise SystemExit(main())
