"""Point Prefect at the project's own server before any Prefect client is made.

Without PREFECT_API_URL, Prefect would start a throwaway server inside the `cin` process, with its
own database: deliveries would vanish into it. The project's server is the one `cin serve` and
`make demo` start (data/prefect, port 4200); a council's installation sets PREFECT_API_URL.
"""

from __future__ import annotations

import os
from pathlib import Path

from models.settings import get_settings

# the variables `use_project_prefect` set from CIN_* settings (for `cin config show`)
DERIVED: dict[str, str] = {}


def use_project_prefect() -> None:
    """Must run before Prefect is first imported: Prefect reads its settings once, at import."""
    settings = get_settings()
    from cli.errors import private_folder

    private_folder(settings.data_dir)  # children's records: 0700, an existing one tightened
    for variable, value, source in (
        ("PREFECT_API_URL", settings.prefect_api_url, "CIN_PREFECT_API_URL"),
        ("PREFECT_HOME", str(settings.data_dir / "prefect"), "CIN_DATA_DIR"),
        ("PREFECT_SERVER_ALLOW_EPHEMERAL_MODE", "false", "cin"),
    ):
        if variable not in os.environ:
            os.environ[variable] = value
            DERIVED[variable] = source
    private_folder(Path(os.environ["PREFECT_HOME"]))
    mismatch = get_settings().ui_mismatch()
    if mismatch is not None:
        from cli.common import CliError

        raise CliError(mismatch)


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
