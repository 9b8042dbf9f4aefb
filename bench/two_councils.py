"""Two councils' `cin serve` on one real Prefect server for a while (issue 26, point 1).

Each council has a case database of its own with one referral whose decision is overdue; each
runs `cin serve` with the monitor every minute. At the end, for each council: the monitor runs
its schedule made that were due in the window, how many completed, and the alerts it raised.
Before issue 26 the councils shared one `deadline-monitor` deployment and one got 0 of 7 passes.

    python -m bench.two_councils --minutes 10
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from demo.local_server import PrefectServer, free_port

REPO = Path(__file__).resolve().parents[1]
CIN = [sys.executable, "-m", "cli.main"]


def _council(
    server: PrefectServer, folder: Path, child: str, monitor_minutes: float
) -> dict[str, str]:
    env = {**server.env(), "CIN_DATA_DIR": str(folder), "CIN_TODAY": "2025-03-05",
           "CIN_MONITOR_MINUTES": str(monitor_minutes), "CIN_RECONCILER_MINUTES": "1"}  # fmt: skip
    for key in ("CIN_DATABASE_URL", "CIN_CRASH_AT", "CIN_SMTP_URL", "CIN_TEAMS_URLS"):
        env.pop(key, None)
    subprocess.run([*CIN, "init"], env=env, cwd=REPO, check=True, capture_output=True)
    subprocess.run([*CIN, "case", "refer", "--authority", "redbridge", "--child", child,
                    "--date", "2025-03-03", "--team", "east"],
                   env=env, cwd=REPO, check=True, capture_output=True)  # fmt: skip
    return env


def _instance(folder: Path) -> str:
    with sqlite3.connect(folder / "cin.db") as db:
        return str(db.execute("SELECT id FROM engine_instance").fetchone()[0]).replace("-", "")[:12]


def _post(server: PrefectServer, path: str, body: dict[str, Any]) -> Any:
    answer = httpx.post(f"{server.api_url}{path}", json=body, headers=server.headers(), timeout=30)
    answer.raise_for_status()
    return answer.json()


def _monitor_runs(server: PrefectServer, instance: str) -> list[dict[str, Any]]:
    named = {"deployments": {"name": {"any_": [f"deadline-monitor-{instance}"]}}}
    found = _post(server, "/deployments/filter", named)
    if not found:
        return []
    return list(_post(server, "/flow_runs/filter", {
        "flow_runs": {"deployment_id": {"any_": [found[0]["id"]]}}, "limit": 200}))  # fmt: skip


def _alerts(folder: Path) -> int:
    with sqlite3.connect(folder / "cin.db") as db:
        return int(db.execute("SELECT count(*) FROM alert").fetchone()[0])


def main() -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False, description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--monitor-minutes", type=float, default=1.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cin26-two-councils-") as scratch:
        root = Path(scratch)
        server = PrefectServer(root / "prefect", free_port())
        server.start()
        serves: list[subprocess.Popen[bytes]] = []
        try:
            folders = [root / "council-a", root / "council-b"]
            envs = [
                _council(server, f, f"C{n}", args.monitor_minutes) for n, f in enumerate(folders)
            ]
            instances = [_instance(f) for f in folders]
            started = datetime.now(UTC)
            for env, folder in zip(envs, folders, strict=True):
                log = (folder / "serve.log").open("wb")
                serves.append(subprocess.Popen([*CIN, "serve", "--threads", "1"], env=env,
                                               cwd=REPO, stdout=log, stderr=log,
                                               start_new_session=True))  # fmt: skip
            time.sleep(args.minutes * 60)  # the measured window itself, not a race
            ended = datetime.now(UTC)
            due_by = ended - timedelta(seconds=30)  # a run due in the last 30 s may be starting
            for folder, instance in zip(folders, instances, strict=True):
                runs = _monitor_runs(server, instance)
                due = [
                    r
                    for r in runs
                    if started <= datetime.fromisoformat(r["expected_start_time"]) < due_by
                ]
                completed = [r for r in due if r["state_type"] == "COMPLETED"]
                print(f"{folder.name} (instance {instance}): monitor passes due {len(due)}, "
                      f"completed {len(completed)}, all runs {len(runs)}, "
                      f"alerts raised {_alerts(folder)}")  # fmt: skip
            print(f"window {started:%H:%M:%S} to {ended:%H:%M:%S} UTC, "
                  f"monitor every {args.monitor_minutes} min")  # fmt: skip
        finally:
            for process in serves:
                if process.poll() is None:
                    os.kill(process.pid, signal.SIGTERM)
            for process in serves:
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
            server.stop()


if __name__ == "__main__":
    main()
