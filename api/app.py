"""The FastAPI application: routes, error shapes, and the guard (rate, body, access log)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlmodel import Session

from api import errors, routes
from api.auth import VerifiedKeys, caller_refusal
from api.guard import Guard
from engine.ingest import Ingest
from models.cases.store import sync_authorities
from models.database import get_engine
from models.policy.book import PolicyBook
from models.settings import Settings, get_settings

TITLE = "cin-engine HTTP API"
VERSION = "1.0.0"


def create_app(
    engine: Engine | None = None,
    policies: PolicyBook | None = None,
    settings: Settings | None = None,
) -> Any:
    """The ASGI application over `engine` (default: CIN_DATABASE_URL, migrated)."""
    from models.runtime import case_engine, clock
    from models.runtime import policies as default_policies

    settings = settings or get_settings()
    if engine is None:
        case_engine()  # the schema brought up to date, once
        url = settings.resolved_database_url()
        engine = get_engine(url, pool_size=settings.api_db_connections)
    policies = policies or default_policies()
    with Session(engine) as session:
        sync_authorities(session, policies=policies)
    app = build_fastapi()
    app.state.engine = engine
    app.state.verified_keys = VerifiedKeys()
    # accepting never waits for Prefect: `cin worker` / `cin serve` deliver the outbox
    app.state.ingest = Ingest(engine, policies, deliver=False, clock=clock())
    guarded = Guard(
        app,
        engine=engine,
        max_body=settings.api_max_body_bytes,
        # each worker process holds its own buckets: its share of the limit (docs/http-api.md)
        rate=settings.api_rate_per_second / settings.api_workers,
        burst=max(1, settings.api_rate_burst // settings.api_workers),
    )
    return guarded


DESCRIPTION = (
    "Recording systems open cases, record events and read deadlines here (docs/http-api.md). "
    "Every write needs an Idempotency-Key; every error is JSON naming the field."
)


def build_fastapi() -> FastAPI:
    """The routes and error shapes, before a database is attached (the OpenAPI description)."""
    app = FastAPI(title=TITLE, version=VERSION, description=DESCRIPTION)
    errors.install(app, caller_refusal)
    app.include_router(routes.router)
    return app


def openapi_document() -> dict[str, Any]:
    """What docs/openapi.json holds; `python -m api.app` writes it."""
    document: dict[str, Any] = build_fastapi().openapi()
    return document


if __name__ == "__main__":
    import json
    import os
    import tempfile
    from pathlib import Path

    target = Path(__file__).resolve().parents[1] / "docs" / "openapi.json"
    target.parent.mkdir(exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".openapi-")
    with os.fdopen(handle, "w") as out:
        out.write(json.dumps(openapi_document(), indent=2, sort_keys=True) + "\n")
    os.chmod(temporary, 0o644)
    os.replace(temporary, target)
