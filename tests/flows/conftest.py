"""A real Prefect server for the flow tests: one temporary SQLite server per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prefect.testing.utilities import prefect_test_harness


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=60):
        yield


@pytest.fixture
def case_db(tmp_path, monkeypatch) -> str:
    """A fresh case database (SQLite file) for the test, through the settings the flows read."""
    monkeypatch.setenv("CIN_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CIN_DATABASE_URL", raising=False)
    return f"sqlite:///{tmp_path / 'cin.db'}"
