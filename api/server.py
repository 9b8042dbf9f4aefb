"""Run the API under uvicorn (`cin api`, and `cin serve` when CIN_API_IN_SERVE is true).

uvicorn's access log is off: its lines carry paths and addresses only, but the engine's own
access log (the audit table) is the record, and no request line should reach a log file by a
route we did not choose. The child's reference never travels in a path (PUT /v1/children)."""

from __future__ import annotations

import uvicorn

from api.app import create_app
from models.settings import get_settings


def run(host: str | None = None, port: int | None = None) -> None:
    settings = get_settings()
    uvicorn.run(
        create_app(settings=settings),
        host=host or settings.api_host,
        port=port or settings.api_port,
        access_log=False,
        log_level="warning",
        server_header=False,
    )


if __name__ == "__main__":
    run()
