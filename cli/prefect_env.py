"""Point Prefect at the project's own server before any Prefect client is made.

Without PREFECT_API_URL, Prefect would start a throwaway server inside the `cin` process, with its
own database: deliveries would vanish into it. The project's server is the one `cin serve` and
`make demo` start (data/prefect, port 4200); a council's installation sets PREFECT_API_URL.
"""

from __future__ import annotations

import os
from pathlib import Path

from models.settings import get_settings


def use_project_prefect() -> None:
    """Must run before Prefect is first imported: Prefect reads its settings once, at import."""
    settings = get_settings()
    os.environ.setdefault("PREFECT_API_URL", settings.prefect_api_url)
    home = Path(os.environ.setdefault("PREFECT_HOME", str(settings.data_dir / "prefect")))
    home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PREFECT_SERVER_ALLOW_EPHEMERAL_MODE", "false")


def prefect_api_url() -> str:
    return os.environ.get("PREFECT_API_URL") or get_settings().prefect_api_url


def prefect_reachable(timeout: float = 1.0) -> bool:
    """One quick look at the Prefect API's health, so a command whose Prefect work can wait
    (delivery, relabelling runs) does not sit through the client's retries when it is down."""
    import httpx

    try:
        return httpx.get(f"{prefect_api_url().rstrip('/')}/health", timeout=timeout).is_success
    except httpx.HTTPError:
        return False
