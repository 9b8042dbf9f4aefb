"""The flow tests' real Prefect server and case database, for the tests of tasks/."""

from tests.flows.conftest import case_db, prefect_server

__all__ = ["case_db", "prefect_server"]
