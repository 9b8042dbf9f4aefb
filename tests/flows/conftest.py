"""A real Prefect server for the flow tests: one temporary SQLite server per test session."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from prefect.settings import (
    PREFECT_API_AUTH_STRING,
    PREFECT_SERVER_API_AUTH_STRING,
    temporary_settings,
)
from prefect.testing.utilities import prefect_test_harness


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """With API authentication on, as every server the engine starts (the harness hands the
    current settings to its server process). Up to 300 s to start: `make test` runs four test
    processes, each starting its own servers, on a 2-core machine (60 s timed out there)."""
    secret = f"cin:{secrets.token_urlsafe(16)}"
    auth = {PREFECT_SERVER_API_AUTH_STRING: secret, PREFECT_API_AUTH_STRING: secret}
    with temporary_settings(updates=auth), prefect_test_harness(server_startup_timeout=300):
        yield


@pytest.fixture
def case_db(tmp_path, monkeypatch) -> str:
    """A fresh case database (SQLite file) for the test, through the settings the flows read."""
    monkeypatch.setenv("CIN_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CIN_DATABASE_URL", raising=False)
    return f"sqlite:///{tmp_path / 'cin.db'}"
