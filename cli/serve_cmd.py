"""`cin init`, `cin worker`, `cin serve`: set up the database and run the engine."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    init = subparsers.add_parser("init", help="create or upgrade the case database, load policies")
    init.set_defaults(func=run_init)

    worker = subparsers.add_parser(
        "worker",
        help="a Prefect worker (pool cin-cases): deliver accepted events and execute this case "
        "database's runs in threads of this process; start as many as you like",
    )
    worker.add_argument("--threads", type=int, default=2, help="case runs executed at once")
    worker.add_argument("--poll", type=float, default=0.5, help="seconds between idle polls")
    worker.add_argument("--until-idle", action="store_true", help="stop when nothing is left")
    worker.set_defaults(func=run_worker)

    serve = subparsers.add_parser(
        "serve",
        help="run the engine for real use: a worker, and the reconciler (every minute) and the "
        "deadline monitor (every 15 minutes) on their schedules",
    )
    serve.add_argument("--threads", type=int, default=2)
    serve.set_defaults(func=run_serve)


def run_init(args: argparse.Namespace) -> int:
    from sqlmodel import Session

    from models.cases.store import sync_authorities
    from models.runtime import case_engine, policies
    from models.settings import get_settings

    engine = case_engine()  # migrates
    with Session(engine) as session:
        sync_authorities(session, policies=policies())
    print(f"case database ready: {get_settings().resolved_database_url().split('@')[-1]}")
    print(f"authorities: {', '.join(policies().slugs())}")
    return 0


def run_worker(args: argparse.Namespace) -> int:
    from engine.worker import work
    from models.runtime import case_engine

    work(case_engine(), threads=args.threads, poll_seconds=args.poll, until_idle=args.until_idle)
    return 0


# Seconds `cin serve` gives its scheduler child to stop on SIGTERM before it is killed: the
# whole stop stays well inside systemd's default TimeoutStopSec (90 s) and Docker's 10 s + grace.
RUNNER_STOP_SECONDS = 10.0


def run_serve(args: argparse.Namespace) -> int:
    """The reconciler and deadline-monitor deployments are served by a Prefect runner in a child
    process (it needs the main thread for its signal handlers); the worker runs here until
    interrupted. SIGTERM (a service manager's stop) is handled like Ctrl-C: the runner and every
    process it started (its own process group) get SIGTERM, then SIGKILL after
    RUNNER_STOP_SECONDS; if `cin serve` itself is killed, the kernel ends the runner too."""
    from engine.worker import work
    from models.runtime import case_engine
    from models.settings import get_settings

    def stop(_number: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    runners = [_start_runner()]
    stopping = threading.Event()
    keeper = threading.Thread(target=_keep_runner, args=(runners, stopping), daemon=True)
    keeper.start()
    # the HTTP API too, when configured (CIN_API_IN_SERVE=true; docs/http-api.md)
    api = (
        subprocess.Popen([sys.executable, "-m", "api.server"], preexec_fn=_die_with_us)
        if get_settings().api_in_serve
        else None
    )
    try:
        work(case_engine(), threads=args.threads)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut this short
        stopping.set()
        keeper.join(timeout=10)
        _stop_group(runners[-1])
        if api is not None:
            api.terminate()
            try:
                api.wait(timeout=30)
            except subprocess.TimeoutExpired:
                api.kill()
                api.wait(timeout=10)
    return 0


def _start_runner() -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "engine.serve"], start_new_session=True, preexec_fn=_die_with_us
    )


def _keep_runner(runners: list[subprocess.Popen[bytes]], stopping: threading.Event) -> None:
    """Start the runner again when it ends on its own (it does when the Prefect server lost
    its deployments, engine/serve.py): the schedules come back without a person's help."""
    while not stopping.wait(2.0):
        if runners[-1].poll() is not None and not stopping.is_set():
            sys.stderr.write(
                f"cin serve: the scheduler ended (exit {runners[-1].returncode}); restarting it\n"
            )
            _stop_group(runners[-1])  # anything it left in its group
            runners.append(_start_runner())


def _die_with_us() -> None:
    """In the runner, before exec: SIGKILL when `cin serve` dies (Linux PR_SET_PDEATHSIG)."""
    if sys.platform.startswith("linux"):
        import ctypes
        import ctypes.util

        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


def _stop_group(runner: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the runner's process group, SIGKILL to what is left after the grace time."""
    try:
        os.killpg(runner.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        runner.wait(timeout=RUNNER_STOP_SECONDS)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(runner.pid, signal.SIGKILL)  # the runner, and any flow run it left behind
    except ProcessLookupError:
        pass
    runner.wait(timeout=10)
