"""The one place configuration is read: environment variables (CIN_*) and an optional `.env`."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CIN_", env_file=".env", extra="ignore")

    data_dir: Path = REPO_ROOT / "data"
    # SQLite file under data_dir by default; PostgreSQL in production, e.g.
    # postgresql+psycopg://user@host:5432/cin
    database_url: str = ""
    policy_dir: Path = REPO_ROOT / "policies"
    # the Prefect UI, for links in alerts and in `cin case show`; unset, the UI of the Prefect
    # API this installation uses (that URL without its /api), so links go to the same server
    ui_url: str = ""
    # the Prefect API this installation delivers to (PREFECT_API_URL wins when set)
    prefect_api_url: str = "http://127.0.0.1:4200/api"
    # pins "today" for simulations and the demo (YYYY-MM-DD); unset = the date in Europe/London
    today: str | None = None
    # alerts: the Apprise mailto:// (or mailtos://) URL of the SMTP server, with host, port,
    # credentials and sender, e.g. mailto://127.0.0.1:8025?from=cin-alerts@council.example;
    # Teams workflow URLs per team come from CIN_TEAMS_URLS (notifications/transport.py)
    smtp_url: str | None = None
    # a worker is reminded of work due within this many working days
    due_soon_working_days: int = 2
    # a failed delivery is tried again after this many seconds, doubling each time (at most 1 h)
    alert_retry_seconds: float = 60.0
    # the scheduled monitor composes the day's digests from this hour (Europe/London) on
    digest_hour: int = 7
    # the monitor commits its marks and alerts this many items at a time
    monitor_batch: int = 5000
    # messages sent at once: faster through a slow relay; a crash mid-send may then re-send up
    # to this many (docs/known-limits.md)
    monitor_send_threads: int = 1
    # the Python of the DfE census rules' own venv (`make .venv-census`: they need numpy < 2)
    census_python: Path = REPO_ROOT / ".venv-census" / "bin" / "python"
    # Prefect retention (tasks/prefect_retention.py), engine defaults: no council document sets
    # one. A closed case's run, with its task runs, logs and artifacts, is deleted from Prefect
    # this many days after the run ended: 90 days keeps a recent closure in the UI for the
    # quarter in which re-referrals and audits look back most (the case database keeps the
    # whole record for ever), and bounds Prefect's database by the cases closed in a quarter
    # rather than by every case the council ever had
    prefect_retention_days: float = 90.0
    # and an open case's timeline artifact keeps its latest this many versions (one is added
    # per wake-up; the latest is the one operators read, the few before it say what changed)
    timeline_versions: int = 10
    # and the engine's own passes' runs (the reconciler's every minute, the monitor's every 15
    # minutes: ~1,500 a day whatever the caseload) are deleted this many days after they ended,
    # each deployment's latest kept: a week covers looking back at what the passes did over the
    # last working days; what they did (alerts, deliveries) is in the case database for ever
    prefect_pass_retention_days: float = 7.0
    # Engine safety nets, on in every real use; tests switch one off to show what it prevents:
    # case runs created with an idempotency key of (instance, case), so concurrent deliveries
    # make one run, and the per-case lock (models/cases/lock.py) held while a case executes
    run_idempotency: bool = True
    case_lock: bool = True
    # the HTTP API (`cin api`; `cin serve` starts it too when api_in_serve is true): loopback by
    # default, behind a reverse proxy for TLS and single sign-on (docs/http-api.md)
    api_host: str = "127.0.0.1"
    api_port: int = 8421
    api_in_serve: bool = False
    # engine defaults, not a council's: a request body's size (an event is under 1 KB; a child's
    # details under 1 KB), and requests per client (API key) per second with a burst allowance
    api_max_body_bytes: int = 16_384
    api_rate_per_second: float = 100.0
    api_rate_burst: int = 200
    # engine defaults: uvicorn worker processes (`cin api --workers N`), each with its own rate
    # buckets holding rate / N per key, and each process's pooled connections to the database
    api_workers: int = Field(default=1, ge=1, le=64)
    api_db_connections: int = Field(default=16, ge=1, le=200)

    @model_validator(mode="after")
    def _ui_of_the_api(self) -> Settings:
        if not self.ui_url:
            api = self.api_url().rstrip("/")
            self.ui_url = api.removesuffix("/api") if api.endswith("/api") else api
        return self

    def api_url(self) -> str:
        """The Prefect API in use: PREFECT_API_URL when set, else CIN_PREFECT_API_URL."""
        return os.environ.get("PREFECT_API_URL") or self.prefect_api_url

    def ui_mismatch(self) -> str | None:
        """Why links built from CIN_UI_URL would open another server than the API's, or None."""
        ui, api = urlsplit(self.ui_url), urlsplit(self.api_url())
        if (ui.scheme, ui.hostname, ui.port) == (api.scheme, api.hostname, api.port):
            return None
        return (
            f"CIN_UI_URL ({ui.scheme}://{ui.netloc}) is not the server of the Prefect API "
            f"({api.scheme}://{api.netloc}): alert links would open another server; unset "
            "CIN_UI_URL (it follows the API) or set it to the API's server"
        )

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'cin.db'}"


_cached: dict[tuple[object, ...], Settings] = {}


def get_settings() -> Settings:
    """The settings as the environment and `.env` say now. Read again whenever a `CIN_`
    variable, the working folder or its `.env` changes; otherwise the last reading (a case
    run asks for them a dozen times an event, and each reading parses the environment and
    the `.env` file: about 1 ms)."""
    cwd = os.getcwd()
    try:
        env_file = os.stat(os.path.join(cwd, ".env")).st_mtime_ns
    except OSError:
        env_file = None
    key = (cwd, env_file, *sorted(kv for kv in os.environ.items() if kv[0][:4].upper() == "CIN_"))
    settings = _cached.get(key)
    if settings is None:
        _cached.clear()
        settings = _cached[key] = Settings()
    return settings.model_copy()
