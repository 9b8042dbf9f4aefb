"""The one place configuration is read: environment variables (CIN_*) and an optional `.env`."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CIN_", env_file=".env", extra="ignore")

    data_dir: Path = REPO_ROOT / "data"
    # SQLite file under data_dir by default; PostgreSQL in production, e.g.
    # postgresql+psycopg://user@host:5432/cin
    database_url: str = ""
    policy_dir: Path = REPO_ROOT / "policies"
    # the Prefect UI, for links in alerts and in `cin case show`
    ui_url: str = "http://127.0.0.1:4200"
    # the Prefect API this installation delivers to (PREFECT_API_URL wins when set)
    prefect_api_url: str = "http://127.0.0.1:4200/api"
    # pins "today" for simulations and the demo (YYYY-MM-DD); unset = the date in Europe/London
    today: str | None = None

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'cin.db'}"


def get_settings() -> Settings:
    return Settings()
