"""`cin import FILE.jsonl`: a recording system's bulk file, one event a line.

Each line is a JSON object: an event (`type`, `on`, its fields) addressed either to a case,

    {"case": "RED-000123", "type": "visit_recorded", "on": "2025-01-20", "key": "ics-991"}

or to a child in an authority, which means the child's open case there (a referral or a transfer
in opens one; `team` is the team that will hold it):

    {"authority": "redbridge", "child": "SYN-000001", "team": "redbridge-east",
     "type": "referral_received", "on": "2025-01-06", "source": "6"}

`key` is the idempotency key; without one, the line's own canonical JSON gives it, so importing
the same file again adds nothing. Lines are accepted in file order, many lines a transaction, each
through the same checks as one alone (`cli.import_bulk`; `--per-line` takes one transaction a
line); with `--jobs N`, N processes share them, each child's lines in file order
(`cli.import_jobs`). A refused
or malformed line is counted, reported at the end, and never stops the rest. Accepting does not
wait for Prefect: delivery to the case runs follows, and what it cannot reach the reconciler does.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from cli.common import CliError, job_count
from cli.import_lines import Tally

if TYPE_CHECKING:
    from engine.ingest import Ingest


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "import", help="record a bulk file of events (JSON lines); re-importing adds nothing"
    )
    parser.add_argument("file", type=Path, metavar="FILE.jsonl")
    parser.add_argument(
        "--no-deliver",
        action="store_true",
        help="accept only; leave delivery to the case runs to the reconciler",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--jobs",
        type=job_count,
        default=1,
        metavar="N",
        help="worker processes (default 1); with --per-line more help on PostgreSQL; in chunks "
        "(the default) little: each chunk holds the case-number counters",
    )
    parser.add_argument(
        "--per-line",
        action="store_true",
        help="one transaction a line (slower; the same result as the default, chunks of lines)",
    )
    parser.set_defaults(func=run_import)


def run_import(args: argparse.Namespace) -> int:
    # cli.main has pointed Prefect at the project's server and made its home folder already
    from cli.import_bulk import import_lines
    from cli.import_jobs import run_jobs
    from engine.ingest import Ingest

    try:
        text = args.file.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise CliError(f"{args.file}: not UTF-8 text ({error.reason})") from None
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    ingest = Ingest.from_settings(deliver=False)  # one delivery pass at the end, not per line
    jobs = max(1, args.jobs)
    with _progress(len(lines), enabled=not args.no_progress and sys.stderr.isatty()) as advance:
        if jobs > 1:
            tally = run_jobs(ingest, lines, jobs, advance, per_line=args.per_line)
        else:
            tally = Tally()
            import_lines(ingest, lines, tally, advance, per_line=args.per_line)
    for refusal in tally.report():
        sys.stderr.write(refusal + "\n")
    if not args.no_deliver:
        print(_deliver(ingest))
    print(tally.summary())
    return 0 if tally.refused == 0 else 1


def _deliver(ingest: Ingest) -> str:
    """Hand the accepted events to their case runs; if Prefect cannot be reached, say who will.

    `deliver_pending`'s passes, but stopping at the first case Prefect cannot take: each failed
    attempt costs the client's retries (seconds), and the reconciler retries them all later.
    New runs are made only up to `RUNS_AHEAD` waiting for a worker: the cases of a go-live
    import wait in the outbox, and `cin worker` makes their runs as its threads free.
    """
    from sqlmodel import Session

    from engine.delivery import (
        RUNS_AHEAD,
        DeliveryReport,
        RunAllowance,
        deliver_case,
        out_of_step_cases,
        pending_cases,
    )
    from engine.worker import case_deployment_id
    from models.cases.lookup import undelivered_cases

    report = DeliveryReport()
    room = RunAllowance(ingest.engine, RUNS_AHEAD)  # the instance's total: the workers' backstop
    try:
        case_deployment_id(ingest.engine)  # this instance's deployment, registered once
        while True:
            before = report.delivered
            due = pending_cases(ingest.engine, create=room) + out_of_step_cases(ingest.engine)
            reached = all(deliver_case(ingest.engine, ref, report) for ref in dict.fromkeys(due))
            if not reached or report.delivered == before:
                break
    except Exception as error:  # Prefect refusing: the events are accepted and durable
        from cli.errors import one_line

        sys.stderr.write(f"delivery stopped: {type(error).__name__}: {one_line(str(error))}\n")
    with Session(ingest.engine) as session:
        pending = undelivered_cases(session)
    runs = report.created + report.resumed
    delivered = f"delivered {report.delivered} events to {runs} case runs"
    if pending:
        return (
            f"{delivered}; {pending} cases wait in the outbox: `cin worker` (or the reconciler) "
            "makes their runs as its threads free"
        )
    return delivered


@contextmanager
def _progress(total: int, *, enabled: bool) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr (rich, installed with Prefect); a no-op when not wanted."""
    if not enabled:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    columns = ("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeRemainingColumn(), console=Console(stderr=True)) as progress:
        task = progress.add_task("importing", total=total)
        yield lambda n: progress.advance(task, n)
