"""A local Prefect server as a child process: the embedded default (SQLite under a data folder),
or PostgreSQL when given a database URL. Used by `make demo`, the benchmarks and the crash tests.
It is Prefect's own `prefect server start`, launched through `demo/prefect_server.py` so that on
SQLite every transaction begins IMMEDIATE (writers queue instead of failing "database is locked").

Closed to strangers: the server is started with Prefect's API authentication
(`PREFECT_SERVER_API_AUTH_STRING`), and `env()` hands its clients the matching
`PREFECT_API_AUTH_STRING`. The string is made once per server home and kept there, readable by
its owner only; an anonymous request gets 401.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

# Prefect's services (3.8.8 and 3.9.1 alike: the same defaults) read their event streams one
# message at a time, and the task-run recorder writes each task-run event in a transaction of
# its own. A wake-up costs three task-run events (one task run for all its events, since issue
# 20; one per event before) and four flow-run ones. Read and written in batches (flushed at
# least every second) they cost far less: on PostgreSQL the one-process server's CPU per case
# event fell from 40 to 28 ms, the split topology's services process's from 31-35 to 19-24
# (bench/case_bench.py, docs/performance-history.md), measured with a task run per event.
# Every server the engine starts uses them: the one-process server (the embedded default, the
# demo, the benches) and, in the split topology, the services process (demo/topology.py). The
# price: a server killed outright loses the task-run records it had read but not yet written (at
# most a second's worth), as Prefect's event persister already does by default, and a task run
# shows in the UI up to a second later. The task runs are the UI's view; the case database's
# ledger, not they, says what work ran.
SERVICE_BATCHES = {
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_READ_BATCH_SIZE": "100",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "100",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL": "1",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_READ_BATCH_SIZE": "100",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_BATCH_SIZE": "100",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_FLUSH_INTERVAL": "1",
    "PREFECT_SERVER_SERVICES_TRIGGERS_READ_BATCH_SIZE": "100",
    # Engine default: Prefect's pause-expirations service reads every Paused run (whole rows,
    # 200 a query) every 5 s to fail those whose pause timed out; a case run suspends without a
    # timeout (tests/flows/test_case_flow.py checks it), so it has nothing to do and its cost grew
    # with the suspended runs: an idle server 3.0x the CPU at 2,000 runs against 200, 1.12x
    # with it off (bench/scale_bench.py, docs/scale-out.md)
    "PREFECT_SERVER_SERVICES_PAUSE_EXPIRATIONS_ENABLED": "false",
}

# what an error looks like in a server log: Prefect's format ("12:00:00.000 | ERROR   | ..."),
# uvicorn's ("ERROR:    Exception in ASGI application"), and any traceback
_ERROR_LINE = re.compile(r"\| (ERROR|CRITICAL) +\||^(ERROR|CRITICAL):|^Traceback \(most recent")


def log_errors(log: Path) -> list[str]:
    """The lines of a server log that report an error (none if there is no log)."""
    if not log.exists():
        return []
    lines = log.read_text(errors="replace").splitlines()
    return [line for line in lines if _ERROR_LINE.search(line)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll a condition: returns as soon as it holds, raises after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


def auth_string_in(path: Path) -> str:
    """`cin:<random token>`, made on first use and kept in `path` (0600, its folder 0700)."""
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # made meanwhile by another server of the same topology
            return path.read_text().strip()
        with os.fdopen(fd, "w") as out:
            out.write(f"cin:{secrets.token_urlsafe(24)}")
    return path.read_text().strip()


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database (its backup API), written under a temporary name
    and renamed into place; an existing `target` is left as it is."""
    if target.exists():
        return
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    with sqlite3.connect(source) as src, sqlite3.connect(partial) as dst:
        src.backup(dst)
    src.close()
    dst.close()
    os.replace(partial, target)


class PrefectServer:
    """One Prefect server process. `no_services` starts the API alone (`--no-services`), as in
    the scale-out topology (demo/topology.py), where `extra_env` carries the shared settings
    (database, Redis messaging) and `auth_file` the auth string all its servers share."""

    def __init__(
        self,
        home: Path,
        port: int,
        *,
        database_url: str | None = None,
        ui: bool = False,
        no_services: bool = False,
        extra_env: dict[str, str] | None = None,
        auth_file: Path | None = None,
        python: str | None = None,
        template: Path | None = None,
    ) -> None:
        self.home, self.port, self.database_url, self.ui = home, port, database_url, ui
        # another installation's interpreter (the upgrade test's previous Prefect): it runs
        # from the server's home, so its own `demo` package is the one imported
        self.python = python
        # a SQLite database this Prefect has already migrated (`save_template`), copied into
        # an empty home at the first start: it starts in half the time (measured: 4.4 s of CPU
        # against 8.0 s from nothing). The tests' servers use one; the demo starts from nothing.
        self.template = template
        self.no_services, self.extra_env = no_services, dict(extra_env or {})
        self.auth_file = auth_file or home / "api-auth"
        self.api_url = f"http://127.0.0.1:{port}/api"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def auth_string(self) -> str:
        """`cin:<random token>`, made on first use and kept in the server's home (0600)."""
        return auth_string_in(self.auth_file)

    def headers(self) -> dict[str, str]:
        """What a plain HTTP client must send (Prefect's clients do it themselves)."""
        token = base64.b64encode(self.auth_string.encode()).decode()
        return {"Authorization": f"Basic {token}"}

    def env(self) -> dict[str, str]:
        env = {
            **SERVICE_BATCHES,  # unless the environment says otherwise
            **os.environ,
            "PREFECT_HOME": str(self.home),
            "PREFECT_API_URL": self.api_url,
            "PREFECT_SERVER_API_AUTH_STRING": self.auth_string,
            "PREFECT_API_AUTH_STRING": self.auth_string,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_UI_ENABLED": "true" if self.ui else "false",
            "PREFECT_LOGGING_LEVEL": "WARNING",
        }
        if self.database_url:
            env["PREFECT_API_DATABASE_CONNECTION_URL"] = self.database_url
        else:
            # On SQLite every write takes the one database lock. The late-runs service marks
            # each case run "Late" while it waits for the worker's next round: writes the demo
            # does not need, each queuing for that lock beside the worker's own on the same run.
            # The engine's worker and reconciler, not lateness, decide when a run goes.
            env["PREFECT_SERVER_SERVICES_LATE_RUNS_ENABLED"] = "false"
        env.update(self.extra_env)
        return env

    def start(self, *, detach: bool = False, timeout: float = 120, wait: bool = True) -> None:
        """Start and wait until healthy; `detach` leaves it running after this process ends.
        Without `wait`, return at once: `wait_healthy` waits later (the demo's first weeks
        need no Prefect, so the server boots meanwhile)."""
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.template is not None and self.database_url is None:
            copy_database(self.template, self.home / "prefect.db")
            self.template = None  # the first start only: a restart keeps what it finds
        log = (self.home / "server.log").open("ab")
        command = [self.python or sys.executable, "-m", "demo.prefect_server", "server", "start",
                   "--host", "127.0.0.1", "--port", str(self.port)]  # fmt: skip
        if self.no_services:
            command.append("--no-services")
        self.process = subprocess.Popen(
            command, env=self.env(), stdout=log, stderr=log, stdin=subprocess.DEVNULL,
            start_new_session=True, cwd=self.home if self.python else None,
        )  # fmt: skip
        (self.home / "server.pid").write_text(str(self.process.pid))
        if wait:
            self.wait_healthy(timeout)

    def save_template(self, path: Path) -> None:
        """Stop, then keep a copy of this server's SQLite database at `path` (a `template`)."""
        self.stop()
        copy_database(self.home / "prefect.db", path)

    def wait_healthy(self, timeout: float = 120) -> None:
        wait_until(self.healthy, timeout, f"the Prefect server on port {self.port}")

    @property
    def log(self) -> Path:
        return self.home / "server.log"

    def log_errors(self) -> list[str]:
        """The error lines the server has logged so far (Prefect's, uvicorn's, tracebacks)."""
        return log_errors(self.log)

    def healthy(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            log = self.log
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"the Prefect server exited ({self.process.returncode}):\n{tail}")
        try:
            return httpx.get(f"{self.api_url}/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        """SIGKILL the server's whole process group: no clean shutdown, as in a crash."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
