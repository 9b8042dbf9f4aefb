"""docs/openapi.json is the running app's description: they cannot drift apart."""

from __future__ import annotations

import json
from pathlib import Path

from tests.api.conftest import RunningApi

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_committed_openapi_equals_the_running_apps(running_api: RunningApi) -> None:
    with running_api.client() as http:
        served = http.get("/openapi.json")
    assert served.status_code == 200
    assert served.json() == json.loads(COMMITTED.read_text()), (
        "docs/openapi.json is stale: regenerate it with `.venv/bin/python -m api.app`"
    )


def test_every_write_documents_its_refusals() -> None:
    document = json.loads(COMMITTED.read_text())
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            codes = set(operation["responses"])
            assert {"401", "404", "422", "429"} <= codes or path == "/v1/health", (path, method)
            if method in ("post", "put"):
                assert {"400", "409", "413", "415"} <= codes, (path, method)
