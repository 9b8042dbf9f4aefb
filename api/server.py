"""Run the API under uvicorn (`cin api`, and `cin serve` when CIN_API_IN_SERVE is true).

uvicorn's access log is off: its lines carry paths and addresses only, but the engine's own
access log (the audit table) is the record, and no request line should reach a log file by a
route we did not choose. The child's reference never travels in a path (PUT /v1/children).

With several workers (`cin api --workers N`, CIN_API_WORKERS) uvicorn starts N processes on one
socket, each building the app from `app()`; each holds its own rate buckets, with 1/N of the
limit (docs/http-api.md)."""

from __future__ import annotations

import os
from typing import Any

import uvicorn

from api.app import create_app
from models.settings import get_settings


def app() -> Any:
    """The application of one worker process (uvicorn's factory)."""
    return create_app(settings=get_settings())


def run(host: str | None = None, port: int | None = None, workers: int | None = None) -> None:
    settings = get_settings()
    workers = workers or settings.api_workers
    if workers < 1:
        raise ValueError(f"workers: expected 1 or more; got {workers}")
    options: dict[str, Any] = {
        "host": host or settings.api_host,
        "port": port or settings.api_port,
        "access_log": False,
        "log_level": "warning",
        "server_header": False,
    }
    if workers == 1:
        uvicorn.run(create_app(settings=settings), **options)
        return
    # the worker processes read their settings afresh: this is how they learn their share
    os.environ["CIN_API_WORKERS"] = str(workers)
    uvicorn.run("api.server:app", factory=True, workers=workers, **options)


if __name__ == "__main__":
    run()
