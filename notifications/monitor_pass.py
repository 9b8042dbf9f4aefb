"""The deadline monitor's pass with this installation's settings: its case database, policies,
crash points and `CIN_*` settings (what `cin monitor run --without-prefect`, the monitor flow's
task and the demo run). Imports no Prefect: a pass without Prefect starts without it."""

from __future__ import annotations

from datetime import date, datetime

from models.clock import LONDON
from models.runtime import case_engine, crash_point, policies
from models.settings import get_settings
from notifications.monitor import MonitorConfig, PassReport, run_pass


def monitor_config(*, digests: bool) -> MonitorConfig:
    settings = get_settings()
    return MonitorConfig(
        ui_url=settings.ui_url,
        smtp_url=settings.smtp_url,
        soon_working_days=settings.due_soon_working_days,
        retry_seconds=settings.alert_retry_seconds,
        digests=digests,
        batch=settings.monitor_batch,
        send_threads=settings.monitor_send_threads,
    )


def one_pass(as_of: date, *, digests: bool) -> PassReport:
    """The pass itself, without Prefect (also what `cin monitor run --without-prefect` runs)."""
    return run_pass(
        case_engine(),
        policies(),
        as_of=as_of,
        now=datetime.now(LONDON),
        config=monitor_config(digests=digests),
        crash=crash_point,
    )
