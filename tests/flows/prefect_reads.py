"""Reading back from the test's Prefect server what the flows published."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter
from prefect.client.schemas.objects import Artifact
from prefect.client.schemas.sorting import ArtifactSort


def read_artifacts(key: str, limit: int = 50) -> list[Artifact]:
    """The versions of artifact `key`, newest first (made in a task or in a flow's body)."""
    return asyncio.run(_artifacts(key, limit))


async def _artifacts(key: str, limit: int) -> list[Artifact]:
    async with get_client() as client:
        return await artifacts_matching(client, {"key": {"any_": [key]}}, limit)


async def artifacts_matching(client: Any, artifacts: dict[str, Any], limit: int) -> list[Artifact]:
    """Artifacts by an artifact filter alone, newest first, whether a flow run or a task made
    them (a case run publishes its timeline from the flow's body): no task-run filter, which
    would leave out the artifacts a flow made outside any task (the reconciler's). Prefect
    3.8.8's server (FastAPI 0.154) refused the null paging fields its client sends here, so this
    was a request of its own until 3.9.1 (FastAPI 0.150), which accepts them."""
    found: list[Artifact] = await client.read_artifacts(
        artifact_filter=ArtifactFilter.model_validate(artifacts),
        sort=ArtifactSort.CREATED_DESC,
        limit=limit,
    )
    return found


def event_seqs(task_run_name: str) -> list[int]:
    """The events a case run's task run was handed (one task run a wake-up, named after each of
    its events, tasks/case_work.py): `assessment_started #3, review_held #4` -> [3, 4]."""
    return [int(seq) for seq in re.findall(r"#(\d+)", task_run_name)]
