"""`cin serve` as a council runs it, then the Prefect server's database deleted under it (issue
26, point 2), in real processes against a real Prefect server.

First its schedules must produce runs: the reconciler's and the deadline monitor's, and the
monitor must reach a suspended case run's state message (what tests/flows/test_serve.py checked
on a server of its own; one `cin serve` start-up now serves both, saving about two minutes of
the suite on two cores). Then the case database is the record. After the server's database is
deleted and the server started again (empty), `cin serve` rebuilds the live picture without a
person's help: the case deployment and the scheduled ones registered again, every open case
given one run, suspended at its next event, with its labels and timeline; and the monitor's
passes complete.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from demo.local_server import PrefectServer, free_port, wait_until

REPO = Path(__file__).resolve().parents[2]
CIN = [sys.executable, "-m", "cli.main"]
CHILDREN = ("CLOST1", "CLOST2")


def api(server: PrefectServer, path: str, body: dict[str, Any]) -> Any:
    answer = httpx.post(f"{server.api_url}{path}", json=body, headers=server.headers(), timeout=10)
    answer.raise_for_status()
    return answer.json()


def case_runs(server: PrefectServer) -> list[dict[str, Any]]:
    return list(api(server, "/flow_runs/filter",
                    {"flows": {"name": {"any_": ["cin-case"]}}, "limit": 50}))  # fmt: skip


def suspended_at_next_event(server: PrefectServer, cases: dict[str, int]) -> bool:
    """Exactly one run per open case, Paused on the key of the event after its last."""
    runs = case_runs(server)
    by_case: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        by_case.setdefault(str(run["parameters"].get("case_ref")), []).append(run)
    if sorted(by_case) != sorted(cases):
        return False
    for ref, last_seq in cases.items():
        if len(by_case[ref]) != 1:
            return False
        state = by_case[ref][0]["state"] or {}
        key = str((state.get("state_details") or {}).get("pause_key"))
        if state.get("type") != "PAUSED" or not key.startswith(f"event-{last_seq + 1}"):
            return False
    return True


def completed(server: PrefectServer, flow_name: str) -> int:
    runs = api(server, "/flow_runs/filter", {
        "flows": {"name": {"any_": [flow_name]}},
        "flow_runs": {"state": {"type": {"any_": ["COMPLETED"]}}}, "limit": 50})  # fmt: skip
    return len(runs)


def monitor_passes(server: PrefectServer) -> int:
    return completed(server, "cin-deadline-monitor")


def case_messages(server: PrefectServer) -> set[str]:
    return {str((run["state"] or {}).get("message")) for run in case_runs(server)}


def open_cases(folder: Path) -> dict[str, int]:
    with sqlite3.connect(folder / "cin.db") as db:
        rows = db.execute("SELECT case_ref, last_seq FROM \"case\" WHERE stage != 'closed'")
        return {str(ref): int(seq) for ref, seq in rows}


def test_a_lost_prefect_database_is_rebuilt_from_the_case_database(
    tmp_path: Path, prefect_template: Path
) -> None:
    server = PrefectServer(tmp_path / "prefect", free_port(), template=prefect_template)
    server.start()
    env = {**server.env(), "CIN_DATA_DIR": str(tmp_path / "data"), "CIN_TODAY": "2025-03-05",
           "CIN_MONITOR_MINUTES": "0.1", "CIN_RECONCILER_MINUTES": "0.1",
           "PREFECT_RUNNER_POLL_FREQUENCY": "2",
           # the deployments' watch every 5 s, not the default 30: the loss is found sooner
           # (measured: the passes after the loss came 28 s after the rebuilt runs)
           "CIN_SERVE_WATCH_SECONDS": "5"}  # fmt: skip
    for key in ("CIN_DATABASE_URL", "CIN_CRASH_AT", "CIN_SMTP_URL", "CIN_TEAMS_URLS"):
        env.pop(key, None)
    subprocess.run([*CIN, "init"], env=env, cwd=REPO, check=True, capture_output=True)
    for child in CHILDREN:
        subprocess.run([*CIN, "case", "refer", "--authority", "redbridge", "--child", child,
                        "--date", "2025-03-03", "--team", "east"],
                       env=env, cwd=REPO, check=True, capture_output=True)  # fmt: skip
    log = (tmp_path / "serve.log").open("wb")
    serve = subprocess.Popen([*CIN, "serve", "--threads", "1"], env=env, cwd=REPO, stdout=log,
                             stderr=log, start_new_session=True)  # fmt: skip
    try:
        cases = open_cases(tmp_path / "data")
        assert len(cases) == len(CHILDREN)
        wait_until(lambda: suspended_at_next_event(server, cases), 240, "the case runs")
        wait_until(lambda: monitor_passes(server) >= 1, 300, "a scheduled monitor run")
        wait_until(lambda: completed(server, "cin-reconciler") >= 1, 300, "a reconciler run")
        # the monitor found each decision overdue (the referrals of Mon 3 March needed their
        # decision by Tue 4th; today is the 5th) and woke the runs, which say so
        overdue = (
            "overdue since 2025-03-05 (due 2025-03-04): waiting for referral_decision · "
            "stage referral"
        )
        wait_until(lambda: case_messages(server) == {overdue}, 120, "the runs' messages")
        before = {r["id"] for r in case_runs(server)}

        # the server's database lost: deleted, and the server started empty. `cin serve` is
        # held still meanwhile, so that the empty server is seen before it rebuilds anything (on
        # a loaded machine it had once re-created two runs before this looked)
        os.killpg(serve.pid, signal.SIGSTOP)
        try:
            server.stop()
            for lost in (tmp_path / "prefect").glob("prefect.db*"):
                lost.unlink()
            server.start()
            assert case_runs(server) == [] and monitor_passes(server) == 0
        finally:
            os.killpg(serve.pid, signal.SIGCONT)

        # within two reconciler intervals and the watchers' periods (10 s housekeeping, the
        # deployment watch), on a loaded machine: every open case has its one suspended run
        wait_until(lambda: suspended_at_next_event(server, cases), 300, "the rebuilt runs")
        rebuilt = case_runs(server)
        assert not {r["id"] for r in rebuilt} & before
        for run in rebuilt:
            assert "authority:redbridge" in run["tags"], run["tags"]
            assert any(tag.startswith("cin-instance:") for tag in run["tags"]), run["tags"]
        artifacts = api(server, "/artifacts/filter", {"artifacts": {"key": {"like_": "case-"}}})
        keys = {a["key"] for a in artifacts}
        for ref in cases:
            assert any(key.endswith(ref.lower()) for key in keys), (ref, keys)  # the timeline
        wait_until(lambda: monitor_passes(server) >= 2, 300, "monitor passes after the loss")
        assert serve.poll() is None, "cin serve stopped"
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGTERM)
            try:
                serve.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(serve.pid, signal.SIGKILL)
        server.stop()
