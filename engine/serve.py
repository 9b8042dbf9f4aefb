"""Serve the scheduled deployments (started by `cin serve`): the reconciler every minute
(CIN_RECONCILER_MINUTES) and the deadline monitor every 15 minutes (CIN_MONITOR_MINUTES)."""

from __future__ import annotations

import os
from datetime import timedelta

from prefect import serve
from prefect.deployments.runner import RunnerDeployment

from engine.worker import case_deployment_id
from flows.monitor import deadline_monitor
from flows.reconciler import reconcile
from models.runtime import case_engine

if __name__ == "__main__":
    case_deployment_id(
        case_engine()
    )  # the case deployment must exist before any case run is created
    minutes = float(os.environ.get("CIN_MONITOR_MINUTES", "15"))
    reconciler_minutes = float(os.environ.get("CIN_RECONCILER_MINUTES", "1"))
    reconciler = reconcile.to_deployment(
        name="reconciler", interval=timedelta(minutes=reconciler_minutes), tags=["cin"]
    )
    monitor = deadline_monitor.to_deployment(
        name="deadline-monitor",
        interval=timedelta(minutes=minutes),
        tags=["cin"],
        concurrency_limit=1,
    )
    # both are RunnerDeployments here (to_deployment is sync outside an event loop)
    assert isinstance(reconciler, RunnerDeployment) and isinstance(monitor, RunnerDeployment)
    serve(reconciler, monitor)
