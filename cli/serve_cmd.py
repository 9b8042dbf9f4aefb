"""`cin init`, `cin worker`, `cin serve`: set up the database and run the engine."""

from __future__ import annotations

import argparse
import subprocess
import sys


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


def run_serve(args: argparse.Namespace) -> int:
    """The reconciler and deadline-monitor deployments are served by a Prefect runner in a child
    process (it needs the main thread for its signal handlers); the worker runs here until
    interrupted."""
    from engine.worker import work
    from models.runtime import case_engine
    from models.settings import get_settings

    runner = subprocess.Popen([sys.executable, "-m", "engine.serve"])
    # the HTTP API too, when configured (CIN_API_IN_SERVE=true; docs/http-api.md)
    api = (
        subprocess.Popen([sys.executable, "-m", "api.server"])
        if get_settings().api_in_serve
        else None
    )
    try:
        work(case_engine(), threads=args.threads)
    except KeyboardInterrupt:
        pass
    finally:
        for child in (runner, api):
            if child is not None:
                child.terminate()
                child.wait(timeout=30)
    return 0
