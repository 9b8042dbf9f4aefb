"""Reference for case_bench: a trivial flow that suspends, run through the same executor."""

from __future__ import annotations

import statistics
import time
from typing import cast

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.deployments.runner import RunnerDeployment
from prefect.exceptions import Pause
from prefect.flow_runs import resume_flow_run, suspend_flow_run
from prefect.input import RunInput
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

from tasks.prefect_internals import run_flow_sync

COUNTER = {"n": 0}


class Poke(RunInput):
    n: int


@flow(name="bench-trivial")
def trivial() -> None:
    # the key moves on with each resume, like the case flow's `event-<seq>`
    suspend_flow_run(wait_for_input=Poke, key=f"poke-{COUNTER['n']}")


def _execute(run_id) -> None:
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        try:
            run_flow_sync(trivial, flow_run=run, parameters=run.parameters, return_type="state")
        except Pause:
            pass


def trivial_cycle_seconds(samples: int) -> float:
    deployment = cast(RunnerDeployment, trivial.to_deployment(name="bench"))
    with get_client(sync_client=True) as client:
        run = client.create_flow_run_from_deployment(deployment.apply())
    _execute(run.id)
    times = []
    for i in range(samples):
        COUNTER["n"] = i + 1
        t0 = time.perf_counter()
        resume_flow_run(run.id, run_input={"n": i + 1})
        _execute(run.id)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)
