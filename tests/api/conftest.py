"""The API under test: a real uvicorn server on a free loopback port, over the test's own case
database (SQLite and PostgreSQL, `engine` from tests/conftest.py), and keys made by the store."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine

from api.app import create_app
from models.access.keys import create_key
from models.policy.book import PolicyBook
from models.settings import Settings

TODAY = "2025-06-02"


@dataclass
class RunningApi:
    url: str
    engine: Engine
    server: uvicorn.Server

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)


def serve(app: Any) -> Iterator[tuple[str, uvicorn.Server]]:
    """`app` served by uvicorn in a thread of this process, on a port the OS picks."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # log_config=None: uvicorn installs no handlers bound to pytest's capture streams
    config = uvicorn.Config(app, access_log=False, lifespan="off", log_config=None)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the API server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", server
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@pytest.fixture
def api_settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("CIN_TODAY", TODAY)
    return Settings(api_rate_per_second=1000.0, api_rate_burst=1000)


@pytest.fixture
def running_api(engine: Engine, book: PolicyBook, api_settings: Settings) -> Iterator[RunningApi]:
    app = create_app(engine, book, api_settings)
    for url, server in serve(app):
        yield RunningApi(url, engine, server)


def new_key(engine: Engine, authority: str = "redbridge", scope: str = "record") -> str:
    return create_key(engine, authority=authority, name=f"{authority}-{scope}-ics", scope=scope)[1]


def referral(child: str = "C1", on: str = "2025-05-01", by: str = "sw-1") -> dict[str, Any]:
    return {
        "child_ref": child,
        "recorded_by": by,
        "event": {"type": "referral_received", "on": on, "source": "10"},
    }
