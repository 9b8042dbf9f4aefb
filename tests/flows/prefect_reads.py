"""Reading back from the test's Prefect server what the flows published."""

from __future__ import annotations

import asyncio
from typing import Any

from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import Artifact


def read_artifacts(key: str, limit: int = 50) -> list[Artifact]:
    """The versions of artifact `key`, newest first (made in a task or in a flow's body)."""
    return asyncio.run(_artifacts(key, limit))


async def _artifacts(key: str, limit: int) -> list[Artifact]:
    # the request itself: this server (FastAPI 0.154) refuses the null sub-filters and paging
    # fields that 3.8.8's clients send, and an empty task-run filter leaves out the artifacts a
    # flow made outside any task (the reconciler's)
    async with get_client() as client:
        response = await client._client.post(
            "/artifacts/filter",
            json={"artifacts": {"key": {"any_": [key]}}, "sort": "CREATED_DESC", "limit": limit},
        )
        response.raise_for_status()
        return [Artifact.model_validate(item) for item in response.json()]


async def artifacts_matching(client: Any, artifacts: dict[str, Any], limit: int) -> list[Artifact]:
    """Artifacts by an artifact filter alone, newest first, whether a flow run or a task made
    them (a case run publishes its timeline from the flow's body), sent as `_artifacts` sends
    its request."""
    response = await client._client.post(
        "/artifacts/filter",
        json={"artifacts": artifacts, "sort": "CREATED_DESC", "limit": limit},
    )
    response.raise_for_status()
    return [Artifact.model_validate(item) for item in response.json()]
