"""The demo's Prefect server and case worker, left serving so the UI is ready to explore.

`make demo` ends with both running: the deployment page then reads Ready (a worker polls the
`cin-cases` pool) rather than Not Ready beside a red work queue. `make demo-serve` (this module
run as a script) starts them again on the data the last demo left, without replaying it;
`make stop` stops both. Each is a process group of its own, its pid in data/demo-prefect
(server.pid, worker.pid), its log beside it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from demo.local_server import PrefectServer

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
HOME = DATA / "demo-prefect"
TODAY_FILE = HOME / "demo-today"  # the simulated day the demo ended on (the worker's clock)
# a port of the demo's own, so another `cin` on this machine (default port 4200) cannot write
# into the demo's server by default; a second clone's demo sets CIN_DEMO_PORT (an engine default)
DEFAULT_PORT = 4310


def demo_port(environ: Mapping[str, str] = os.environ) -> int:
    """CIN_DEMO_PORT if set (a port from 1024 to 65535), else 4310; a bad value is one line."""
    raw = environ.get("CIN_DEMO_PORT", "").strip()
    if not raw:
        return DEFAULT_PORT
    if not raw.isdigit() or not 1024 <= int(raw) <= 65535:
        raise SystemExit(f"CIN_DEMO_PORT: expected a port number from 1024 to 65535, got {raw!r}")
    return int(raw)


def login_lines(port: int, home: Path = HOME) -> list[str]:
    """Where the UI is and how to log in: the server requires its API auth string."""
    auth = (home / "api-auth").relative_to(REPO) if home.is_relative_to(REPO) else home
    return [
        f"Prefect UI: http://127.0.0.1:{port}  (log in with the API auth string: "
        f"`cat {auth}`, paste it at the login prompt)",
    ]


def worker_env(server: PrefectServer, today: str | None, data: Path) -> dict[str, str]:
    env = {**server.env(), "CIN_DATA_DIR": str(data)}
    env["CIN_UI_URL"] = f"http://127.0.0.1:{server.port}"
    env.pop("CIN_DATABASE_URL", None)
    env.pop("PREFECT_SERVER_API_AUTH_STRING", None)  # a client needs only its own
    env["PREFECT_LOGGING_LEVEL"] = "INFO"  # the case runs' one line per wake-up
    if today:
        env["CIN_TODAY"] = today
    return env


def start_worker(server: PrefectServer, today: str | None, data: Path = DATA) -> int:
    """`cin worker` on the case database under `data`, detached: it heartbeats on the pool, so
    the deployment reads Ready, and it runs any case run a new record wakes. Returns its pid
    (also in worker.pid beside the server's)."""
    stop_worker(server.home)
    log = (server.home / "worker.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "worker", "--threads", "2", "--poll", "2"],
        env=worker_env(server, today, data), stdout=log, stderr=log, stdin=subprocess.DEVNULL,
        start_new_session=True, cwd=REPO,
    )  # fmt: skip
    (server.home / "worker.pid").write_text(str(process.pid))
    return process.pid


def stop_worker(home: Path = HOME) -> None:
    pid_file = home / "worker.pid"
    if pid_file.exists():
        try:
            os.killpg(int(pid_file.read_text()), 15)
        except (ProcessLookupError, ValueError, PermissionError):
            pass
        pid_file.unlink(missing_ok=True)


def main() -> None:
    """Start the demo's server (if it is not up) and worker on the data the demo left."""
    port = demo_port()
    if not (DATA / "cin.db").exists() or not HOME.exists():
        raise SystemExit("no demo data under data/: run `make demo` first")
    server = PrefectServer(HOME, port, ui=True)
    if not server.healthy():
        say(f"starting the demo's Prefect server on its data ({HOME.relative_to(REPO)}) ...")
        server.start(detach=True)
    today = TODAY_FILE.read_text().strip() if TODAY_FILE.exists() else None
    pid = start_worker(server, today)
    for line in login_lines(port):
        say(line)
    log = (HOME / "worker.log").relative_to(REPO)
    say(f"case worker running (pid {pid}, log {log}); `make stop` stops both")


def say(line: str) -> None:
    sys.stdout.write(f"{line}\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
