"""The Prefect server the engine starts is closed to strangers (issue 9, "Closed to strangers")."""

from __future__ import annotations

import stat
from pathlib import Path

import httpx

from demo.local_server import PrefectServer, free_port


def test_an_anonymous_call_is_refused_and_an_authenticated_one_works(tmp_path: Path) -> None:
    server = PrefectServer(tmp_path / "prefect", free_port())
    server.start()
    try:
        query = {"limit": 1}
        anonymous = httpx.post(f"{server.api_url}/flow_runs/filter", json=query, timeout=10)
        assert anonymous.status_code == 401
        wrong = httpx.post(
            f"{server.api_url}/flow_runs/filter", json=query, auth=("cin", "guess"), timeout=10
        )
        assert wrong.status_code == 401
        # nor can a stranger change anything
        cancel = httpx.post(
            f"{server.api_url}/flow_runs/00000000-0000-0000-0000-000000000000/set_state",
            json={"state": {"type": "CANCELLED"}, "force": True},
            timeout=10,
        )
        assert cancel.status_code == 401
        allowed = httpx.post(
            f"{server.api_url}/flow_runs/filter", json=query, headers=server.headers(), timeout=10
        )
        assert allowed.status_code == 200 and allowed.json() == []
    finally:
        server.stop()
    secret = server.home / "api-auth"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert stat.S_IMODE(server.home.stat().st_mode) == 0o700
