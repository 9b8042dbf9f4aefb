"""Serve the scheduled deployments (started by `cin serve`): the reconciler every minute
(CIN_RECONCILER_MINUTES) and the deadline monitor every 15 minutes (CIN_MONITOR_MINUTES).

Both are this instance's own (`reconciler-<instance>`, `deadline-monitor-<instance>`, tagged
with the instance): several case databases' `cin serve` on one Prefect server each get every
pass of their own schedules, as their case deployments are their own."""

from __future__ import annotations

import os
import sys
import threading
import time
from datetime import timedelta

from prefect import serve
from prefect.deployments.runner import RunnerDeployment

from engine.worker import case_deployment_id
from flows.monitor import deadline_monitor
from flows.reconciler import reconcile
from models.instance import (
    instance_id,
    instance_tag,
    monitor_deployment_name,
    reconciler_deployment_name,
)
from models.runtime import case_engine

LOST_SERVER = 75  # exit status: the deployments are gone, `cin serve` starts this again
# engine default: a lost deployment is noticed within 30 s at one request a deployment
WATCH_SECONDS = 30.0


def watch_seconds() -> float:
    """CIN_SERVE_WATCH_SECONDS, or the engine default (WATCH_SECONDS); anything but a number
    of seconds above 0 stops `cin serve` with one line naming the setting."""
    raw = os.environ.get("CIN_SERVE_WATCH_SECONDS", "").strip()
    if not raw:
        return WATCH_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= 86400:
        raise SystemExit(
            "cin serve: CIN_SERVE_WATCH_SECONDS: expected seconds above 0, at most 86400; "
            f"got {raw!r}"
        )
    return seconds


def watch_deployments(names: list[str]) -> None:
    """Exit when a served deployment is gone from the Prefect server (its database lost or
    restored from an old backup): a runner would poll for runs of deployments that no longer
    exist and never run a pass again; `cin serve` starts a new one, which registers them."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    period = watch_seconds()
    while True:
        time.sleep(period)
        try:
            with get_client(sync_client=True) as client:
                for name in names:
                    client.read_deployment_by_name(name)
        except ObjectNotFound:
            sys.stderr.write("a served deployment is gone from the Prefect server; restarting\n")
            os._exit(LOST_SERVER)
        except Exception:  # Prefect unreachable: nothing to judge by; look again later
            continue


if __name__ == "__main__":
    engine = case_engine()
    case_deployment_id(engine)  # the case deployment must exist before any case run is created
    instance = instance_id(engine)
    tags = ["cin", instance_tag(instance)]
    minutes = float(os.environ.get("CIN_MONITOR_MINUTES", "15"))
    reconciler_minutes = float(os.environ.get("CIN_RECONCILER_MINUTES", "1"))
    reconciler = reconcile.to_deployment(
        name=reconciler_deployment_name(instance),
        interval=timedelta(minutes=reconciler_minutes),
        tags=tags,
        concurrency_limit=1,
    )
    monitor = deadline_monitor.to_deployment(
        name=monitor_deployment_name(instance),
        interval=timedelta(minutes=minutes),
        tags=tags,
        concurrency_limit=1,
    )
    # One pass of each at a time (engine default): the runner starts at most
    # PREFECT_RUNNER_PROCESS_LIMIT (5) runs at once, so overlapping reconciler passes, each
    # slower than its interval on a loaded machine, filled every slot and starved the monitor
    # (the `cin serve` test, now in tests/flows/test_prefect_db_lost.py, timed out waiting for
    # a monitor pass at load 13-25).
    # both are RunnerDeployments here (to_deployment is sync outside an event loop)
    assert isinstance(reconciler, RunnerDeployment) and isinstance(monitor, RunnerDeployment)
    served = [f"{reconcile.name}/{reconciler.name}", f"{deadline_monitor.name}/{monitor.name}"]
    watch_seconds()  # a bad setting stops here, before anything is served
    threading.Thread(target=watch_deployments, args=(served,), daemon=True).start()
    serve(reconciler, monitor)
