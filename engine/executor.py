"""Execute a case run in this process, without the per-run costs a case engine cannot afford.

`run_flow_sync` (Prefect 3.8.8, internal API used by Prefect's own tests) with two differences,
measured on a 2-core machine at about 0.4 s of a 0.75 s resume:
- no suspension observer: Prefect starts a thread with its own event loop and event subscription
  per run so that *another* process can suspend it; case runs only ever suspend themselves, which
  the in-process registry still handles;
- no per-run heartbeat thread, settings copy or client: `quiet_thread_settings()` switches
  heartbeats off and opens one Prefect client once per worker thread (the worker, not a
  heartbeat, is the liveness signal: a crash leaves the run Running with its case lock free,
  which is how the reconciler knows to take it back).
Keep it in step with `prefect.flow_engine.run_flow_sync` when upgrading Prefect.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Generator
from contextlib import ExitStack, contextmanager
from typing import Any

from prefect import Flow
from prefect._flow_run_suspension import (
    FlowRunSuspensionRequest,
    register_flow_run_suspension_request,
)
from prefect.client.schemas.objects import FlowRun
from prefect.context import SettingsContext, SyncClientContext, get_settings_context
from prefect.flow_engine import FlowRunEngine
from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY

_thread_settings: list[Any] = []
# per thread: the Prefect API this thread's shared client and quiet settings were made for
_quiet_settings: contextvars.ContextVar[str] = contextvars.ContextVar("cin_quiet", default="")


class CaseRunEngine(FlowRunEngine[Any, Any]):
    @contextmanager
    def setup_flow_run_suspension_request(
        self,
    ) -> Generator[FlowRunSuspensionRequest, None, None]:
        if not self.flow_run:
            raise ValueError("Flow run not set")
        request = self._get_flow_run_suspension_request()
        with ExitStack() as stack:
            stack.enter_context(register_flow_run_suspension_request(self.flow_run.id, request))
            request.raise_if_requested()
            yield request


def run_in_process(flow: Flow[Any, Any], flow_run: FlowRun) -> Any:
    """Run `flow_run` here until it ends or suspends (a suspension raises `Pause`)."""
    engine = CaseRunEngine(flow=flow, parameters=flow_run.parameters, flow_run=flow_run)
    with engine.start():
        while engine.is_running():
            with engine.run_context():
                engine.call_flow_fn()
    return engine.state


def quiet_thread_settings() -> None:
    """Once per thread: heartbeats off, and one Prefect client shared by everything the thread
    does (making a client costs ~37 ms here, and a resume used to make several). The contexts
    are entered directly, not through generator context managers, so nothing is left to be
    finalised in another thread's context when the process exits."""
    current = get_settings_context()
    settings = SettingsContext(
        profile=current.profile,
        settings=current.settings.copy_with_update(
            updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}
        ),
    )
    settings.__enter__()
    try:
        clients = SyncClientContext()
        clients.__enter__()  # may raise while the Prefect server is down: tried again next time
    except BaseException:
        settings.__exit__(None, None, None)
        raise
    _thread_settings.extend([settings, clients])  # kept for the thread's life


def prepare_thread() -> None:
    """Quiet settings and a shared client for a worker thread, once per thread and API.

    Only the worker's own pool threads keep these contexts for life; the main thread (a CLI
    command, a test, the demo's driver) must not carry a client past the settings it was made
    under. Keyed by the API URL in force, so a thread that changes servers gets a new client."""
    if threading.current_thread() is threading.main_thread():
        return
    api_url = str(PREFECT_API_URL.value())
    if _quiet_settings.get("") != api_url:
        quiet_thread_settings()
        _quiet_settings.set(api_url)
