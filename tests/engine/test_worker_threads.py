"""A worker's threads work against the Prefect settings in force where the worker was made."""

from __future__ import annotations

from prefect.settings import PREFECT_API_URL, temporary_settings
from sqlalchemy import Engine

from engine.worker import CaseWorker


def _api_url_seen() -> str:
    # what `prepare_thread` (the first act of every case run and outbox pass) keys its client on
    return str(PREFECT_API_URL.value())


def test_case_and_outbox_threads_use_the_makers_prefect_api(engine: Engine):
    # the process-wide settings name no server (or another one); the worker is made under
    # temporary settings, as `cin worker` after its environment and the tests' servers are
    url = "http://127.0.0.1:9/api"
    assert str(PREFECT_API_URL.value()) != url
    with temporary_settings(updates={PREFECT_API_URL: url}):
        worker = CaseWorker(engine, threads=2)
    try:
        seen = {worker.threads.submit(_api_url_seen).result(timeout=30) for _ in range(4)}
        seen.add(worker.outbox.submit(_api_url_seen).result(timeout=30))
    finally:
        worker.threads.shutdown(wait=True)
        worker.outbox.shutdown(wait=True)
    assert seen == {url}
    assert str(PREFECT_API_URL.value()) != url  # the caller's own settings are untouched
