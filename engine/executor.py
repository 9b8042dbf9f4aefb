"""Execute a case run in this process, without the per-run costs a case engine cannot afford.

`run_flow_sync` (Prefect 3.9.1, internal API used by Prefect's own tests) with two differences,
measured on a 2-core machine at about 0.4 s of a 0.75 s resume:
- no suspension observer: Prefect starts a thread with its own event loop and event subscription
  per run so that *another* process can suspend it; case runs only ever suspend themselves, which
  the in-process registry still handles;
- no per-run heartbeat thread, settings copy or client: `quiet_thread_settings()` switches
  heartbeats off and opens one Prefect client once per worker thread (the worker, not a
  heartbeat, is the liveness signal: a crash leaves the run Running with its case lock free,
  which is how the reconciler knows to take it back).
- no API call that tells Prefect what it already knows (issue 9: the Prefect server's CPU is the
  bottleneck): the run handed over was read under the case lock, so the engine's re-read when it
  enters the run context is served from it; the rename to the run's own name and the write-back
  of an unchanged flow version and retry policy are skipped (that write-back is also how a stale
  `FlowRun` used to wipe the fired suspend keys); the result storage and "persist by default"
  that Prefect asks the server for three times per start are asked once per process.
Keep it in step with `prefect.flow_engine.run_flow_sync` when upgrading Prefect: every Prefect
internal it uses comes from tasks/prefect_internals.py, which lists them.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Generator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from prefect import Flow
from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.objects import FlowRun
from prefect.context import SettingsContext, SyncClientContext, get_settings_context
from prefect.settings import (
    PREFECT_API_URL,
    PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
    PREFECT_LOCAL_STORAGE_PATH,
)

from tasks.prefect_internals import (
    FlowRunEngine,
    FlowRunSuspensionRequest,
    default_persist_result,
    default_result_storage,
    register_flow_run_suspension_request,
)

# per context: the Prefect API whose quiet settings and shared client are in force in it
_quiet_settings: contextvars.ContextVar[str] = contextvars.ContextVar("cin_quiet", default="")
# per thread: (API, settings, clients) made for it, kept for the thread's life and no longer
_thread_contexts = threading.local()


class CaseRunEngine(FlowRunEngine[Any, Any]):
    _quieted: SyncPrefectClient | None = None

    @property
    def client(self) -> SyncPrefectClient:
        client = super().client
        if self._quieted is not client:
            _quiet(client, self)
            self._quieted = client
        return client

    def unquiet(self) -> None:
        if self._quieted is not None:
            for name in _QUIETED:
                self._quieted.__dict__.pop(name, None)
            self._quieted = None

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


_QUIETED = ("read_flow_run", "update_flow_run")
WRITE_BACK = {"flow_version", "empirical_policy"}


def _quiet(client: SyncPrefectClient, engine: CaseRunEngine) -> None:
    """One-shot stand-ins, on this client instance only (one client per worker thread, or one
    per run in the main thread; removed when the run returns), for the engine's two calls that
    write or read back what the run read under the case lock already says."""
    read, update = client.read_flow_run, client.update_flow_run
    run = engine.flow_run
    assert run is not None
    policy = run.empirical_policy
    unchanged = (
        run.flow_version == engine.flow.version
        and policy.retries is not None
        and policy.retry_delay is not None
    )

    def update_flow_run(flow_run_id: Any, **fields: Any) -> Any:
        client.__dict__.pop("update_flow_run", None)
        if unchanged and flow_run_id == run.id and set(fields) <= WRITE_BACK:
            return None  # initialize_run's write-back of the version and retry policy it read
        return update(flow_run_id, **fields)

    def read_flow_run(flow_run_id: Any) -> FlowRun:
        client.__dict__.pop("read_flow_run", None)
        current = engine.flow_run
        if current is not None and flow_run_id == current.id:
            return current  # setup_run_context's re-read: the run as read and since set here
        return read(flow_run_id)

    client.__dict__["update_flow_run"] = update_flow_run
    client.__dict__["read_flow_run"] = read_flow_run


_flow_copies: dict[tuple[int, str, str], Flow[Any, Any]] = {}


def _with_resolved_results(flow: Flow[Any, Any]) -> Flow[Any, Any]:
    """`flow` with the result storage and persistence Prefect would resolve for it, resolved
    once per process and API (they come from the server's default storage setting)."""
    if flow.result_storage is not None and flow.persist_result is not None:
        return flow
    key = (id(flow), str(PREFECT_API_URL.value()), str(PREFECT_LOCAL_STORAGE_PATH.value()))
    if key not in _flow_copies:
        resolved = flow.with_options(
            persist_result=(
                flow.persist_result if flow.persist_result is not None else default_persist_result()
            ),
        )
        # set, not passed: Flow() refuses an unsaved block, which the local default is
        resolved.result_storage = flow.result_storage or default_result_storage().storage
        _flow_copies[key] = resolved
    return _flow_copies[key]


def local_result_folder(flow: Flow[Any, Any]) -> Path | None:
    """The folder `flow`'s runs in this process write their task results to, as resolved for
    them above (the settings, or the server's default storage block), when it is a local
    folder; None for remote storage."""
    from prefect.filesystems import LocalFileSystem

    storage = _with_resolved_results(flow).result_storage
    if not isinstance(storage, LocalFileSystem) or not storage.basepath:
        return None
    return Path(storage.basepath).expanduser()


def run_in_process(flow: Flow[Any, Any], flow_run: FlowRun) -> Any:
    """Run `flow_run` here until it ends or suspends (a suspension raises `Pause`).

    `flow_run` must be fresh: read under the case lock just before."""
    flow = _with_resolved_results(flow)
    engine = CaseRunEngine(flow=flow, parameters=flow_run.parameters, flow_run=flow_run)
    if isinstance(flow.flow_run_name, str):
        # the run was created under this name (tasks/outbox.py): renaming it to it is a write
        engine._flow_run_name_set = flow_run.name == flow.flow_run_name.format(
            **flow_run.parameters
        )
    try:
        with engine.start():
            while engine.is_running():
                with engine.run_context():
                    engine.call_flow_fn()
    finally:
        engine.unquiet()
    return engine.state


def quiet_thread_settings() -> tuple[SettingsContext, SyncClientContext]:
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
    return settings, clients


def prepare_thread() -> None:
    """Quiet settings and a shared client for a worker thread, once per thread and API.

    Only the worker's own threads keep these contexts for life; the main thread (a CLI
    command, a test, the demo's driver) must not carry a client past the settings it was made
    under. Keyed by the API URL in force, so a thread that changes servers gets a new client.

    A thread's pair is kept by the thread, not by the context it was entered in: a function
    handed to `anyio.to_thread.run_sync` (the worker's outbox pass, every poll) runs in a fresh
    copy of the event loop's context each call, where the pair made by the last call is not in
    force. Made again each time, and kept in a process-wide list, it was the worker's memory
    leak: a client, its connection pool and a settings copy per poll, for ever
    (docs/known-limits.md; bench/worker_memory.py). Here the thread's own pair is put back into
    such a context instead."""
    if threading.current_thread() is threading.main_thread():
        return
    api_url = str(PREFECT_API_URL.value())
    if _quiet_settings.get("") == api_url:
        return
    made = getattr(_thread_contexts, "made", None)
    if made is not None and made[0] == api_url:
        _, settings, clients = made
        SettingsContext.__var__.set(settings)
        SyncClientContext.__var__.set(clients)
    else:
        settings, clients = quiet_thread_settings()
        _thread_contexts.made = (api_url, settings, clients)
    _quiet_settings.set(api_url)
