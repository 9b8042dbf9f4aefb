"""`cin serve` as a council runs it: real processes against a real Prefect server. Its schedules
must produce runs: the reconciler's and the deadline monitor's, and the monitor must reach a
suspended case run's state message."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from demo.local_server import PrefectServer, free_port, wait_until

REPO = Path(__file__).resolve().parents[2]


def test_cin_serve_runs_the_reconciler_and_the_monitor_on_their_schedules(tmp_path: Path) -> None:
    server = PrefectServer(tmp_path / "prefect", free_port())
    server.start()
    env = {
        **server.env(),
        "CIN_DATA_DIR": str(tmp_path),
        "CIN_TODAY": "2025-03-05",  # the referral of 3 March needed its decision by the 4th
        "CIN_MONITOR_MINUTES": "0.1",
        "CIN_RECONCILER_MINUTES": "0.1",
        "PREFECT_RUNNER_POLL_FREQUENCY": "2",
    }
    for key in ("CIN_DATABASE_URL", "CIN_CRASH_AT", "CIN_SMTP_URL", "CIN_TEAMS_URLS"):
        env.pop(key, None)
    cin = [sys.executable, "-m", "cli.main"]
    subprocess.run([*cin, "init"], env=env, cwd=REPO, check=True, capture_output=True)
    refer = [*cin, "case", "refer", "--authority", "redbridge", "--child", "CSERVE",
             "--date", "2025-03-03", "--team", "east"]  # fmt: skip
    subprocess.run(refer, env=env, cwd=REPO, check=True, capture_output=True)
    log = (tmp_path / "serve.log").open("wb")
    serve = subprocess.Popen(
        [*cin, "serve", "--threads", "1"], env=env, cwd=REPO, stdout=log, stderr=log,
        start_new_session=True,
    )  # fmt: skip
    api = server.api_url
    try:

        def completed(flow_name: str) -> bool:
            runs = httpx.post(
                f"{api}/flow_runs/filter",
                json={
                    "flows": {"name": {"any_": [flow_name]}},
                    "flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}},
                    "limit": 5,
                    "sort": "EXPECTED_START_TIME_DESC",
                },
                headers=server.headers(),
                timeout=10,
            )
            return bool(runs.json())

        def case_message() -> str:
            runs = httpx.post(
                f"{api}/flow_runs/filter",
                json={"flows": {"name": {"any_": ["cin-case"]}}, "limit": 5,
                      "sort": "EXPECTED_START_TIME_DESC"},
                headers=server.headers(), timeout=10,
            ).json()  # fmt: skip
            return str(runs[0]["state"]["message"]) if runs and runs[0]["state"] else ""

        wait_until(lambda: completed("cin-deadline-monitor"), 300, "a scheduled monitor run")
        wait_until(lambda: completed("cin-reconciler"), 300, "a scheduled reconciler run")
        # the monitor found the decision overdue and woke the run, which says so
        wait_until(lambda: "overdue since 2025-03-05" in case_message(), 60, "the run's message")
        assert case_message() == (
            "overdue since 2025-03-05 (due 2025-03-04): waiting for referral_decision · "
            "stage referral"
        )
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGTERM)
            try:
                serve.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(serve.pid, signal.SIGKILL)
        server.stop()
