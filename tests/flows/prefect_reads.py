"""Reading back from the test's Prefect server what the flows published."""

from __future__ import annotations

import asyncio
from typing import Any

from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import Artifact
from pydantic import TypeAdapter


def read_artifacts(key: str, limit: int = 50) -> list[Any]:
    """The versions of artifact `key`, newest first."""
    return asyncio.run(_artifacts(key, limit))


async def _artifacts(key: str, limit: int) -> list[Any]:
    async with get_client() as client:
        return await artifacts_matching(client, {"key": {"any_": [key]}}, limit)


async def artifacts_matching(client: Any, artifacts: dict[str, Any], limit: int) -> list[Any]:
    """Artifacts by an artifact filter alone, newest first, whether a flow run or a task made
    them. Sent as a bare request: this server (FastAPI 0.154) refuses the null sub-filters and
    paging fields that 3.8.8's clients send for filters left out, and an empty task-run filter
    would keep only artifacts made inside a task (a case run publishes its timeline itself)."""
    response = await client._client.post(
        "/artifacts/filter",
        json={"artifacts": artifacts, "sort": "CREATED_DESC", "limit": limit, "offset": 0},
    )
    response.raise_for_status()
    return TypeAdapter(list[Artifact]).validate_python(response.json())
