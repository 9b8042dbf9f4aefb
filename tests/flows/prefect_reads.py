"""Reading back from the test's Prefect server what the flows published."""

from __future__ import annotations

import asyncio
from typing import Any

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterKey,
    FlowRunFilter,
    TaskRunFilter,
)
from prefect.client.schemas.sorting import ArtifactSort


def read_artifacts(key: str, limit: int = 50) -> list[Any]:
    """The versions of artifact `key`, newest first."""
    return asyncio.run(_artifacts(key, limit))


async def _artifacts(key: str, limit: int) -> list[Any]:
    # async client and explicit empty filters: this server (FastAPI 0.154) refuses the null
    # sub-filters and paging fields that 3.8.8's sync client and Artifact.get send
    async with get_client() as client:
        return await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            flow_run_filter=FlowRunFilter(),
            task_run_filter=TaskRunFilter(),
            sort=ArtifactSort.CREATED_DESC,
            limit=limit,
        )
