"""`cin import --jobs N`: the same lines, accepted by N worker processes at once.

Each accept is one transaction whose cost is mostly this process's own Python (the ORM, the
lifecycle), so on PostgreSQL several processes go faster; on SQLite writers take turns and gain
little. Order matters only within a child's cases, so every line about one child goes to the same
worker, in file order: lines addressed to a case are routed by that case's child (looked up once,
before the workers start), lines addressed to a child by the child. Malformed lines go to worker 0,
which refuses them. If a worker dies, what it accepted stays accepted: run the file again. The
workers end with `cin import` itself, even when it is killed (`die_with_parent`).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from multiprocessing.queues import Queue
from multiprocessing.sharedctypes import Synchronized
from typing import TYPE_CHECKING, Any

from cli.common import CliError
from cli.import_lines import Tally

if TYPE_CHECKING:
    from engine.ingest import Ingest

NumberedLine = tuple[int, str]
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def partition(ingest: Ingest, lines: Sequence[NumberedLine], jobs: int) -> list[list[NumberedLine]]:
    """Split the lines over `jobs` workers so that each child's lines stay together, in order."""
    from sqlmodel import Session

    from models.cases.lookup import children_of_cases

    addresses: list[Any] = []
    for _, text in lines:
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        addresses.append(data if isinstance(data, dict) else None)
    refs = {str(a["case"]) for a in addresses if a is not None and "case" in a}
    with Session(ingest.engine) as session:
        children = children_of_cases(session, case_refs=sorted(refs))
    parts: list[list[NumberedLine]] = [[] for _ in range(jobs)]
    for line, address in zip(lines, addresses, strict=True):
        child: tuple[str, str] | None = None
        if address is not None and "case" in address:
            child = children.get(str(address["case"]))
        elif address is not None:
            named = address.get("child")
            if isinstance(named, dict):  # a `child` object: its reference
                named = named.get("ref")
            child = (str(address.get("authority")), str(named))
        worker = 0 if child is None else zlib.crc32("\0".join(child).encode()) % jobs
        parts[worker].append(line)
    return parts


def run_jobs(
    ingest: Ingest,
    lines: Sequence[NumberedLine],
    jobs: int,
    advance: Callable[[int], None],
    *,
    per_line: bool = False,
) -> Tally:
    """Import `lines` with `jobs` processes; `advance(n)` is told of progress as it happens."""
    context = multiprocessing.get_context("spawn")  # a clean interpreter: no inherited connections
    results: Queue[tuple[int, Tally]] = context.Queue()
    counters = [context.Value("i", 0) for _ in range(jobs)]
    workers = [
        context.Process(
            target=_work,
            args=(i, part, counters[i], results, os.getpid(), per_line),
            daemon=True,
        )
        for i, part in enumerate(partition(ingest, lines, jobs))
    ]
    # Ctrl-C reaches the whole process group: the workers start with SIGINT blocked (a signal
    # mask is inherited through fork and exec, so from their first instruction) and ignore it
    # from `_work` on; `cin import` alone stops, printing one line, and its workers (daemons,
    # `die_with_parent`) end with it. A Ctrl-C during the start is held, not lost.
    held: list[int] = []  # another thread of ours may take the signal: Python runs this
    previous = signal.signal(signal.SIGINT, lambda number, _frame: held.append(number))
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        try:
            for worker in workers:
                worker.start()
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
            signal.signal(signal.SIGINT, previous)
        if held:
            raise KeyboardInterrupt
        return _collect(workers, counters, results, jobs, advance)
    except BaseException:  # Ctrl-C, a failed worker: a half-started worker must not speak
        for worker in workers:
            if worker.pid is not None and worker.exitcode is None:
                worker.kill()
                worker.join(timeout=5)
        raise


def _collect(
    workers: list[Any],
    counters: list[Synchronized[int]],
    results: Queue[tuple[int, Tally]],
    jobs: int,
    advance: Callable[[int], None],
) -> Tally:
    tally, finished, shown = Tally(), set[int](), 0
    while len(finished) < jobs:
        while not results.empty():
            number, part_tally = results.get()
            tally.merge(part_tally)
            finished.add(number)
        done = sum(counter.value for counter in counters)
        advance(done - shown)
        shown = done
        dead = [
            i for i, w in enumerate(workers) if i not in finished and w.exitcode not in (None, 0)
        ]
        if dead and results.empty():
            raise CliError(
                f"import worker {dead[0]} failed (exit {workers[dead[0]].exitcode}); what was "
                "accepted stays accepted: run the same file again to finish"
            )
        time.sleep(0.2)
    for worker in workers:
        worker.join()
    return tally


def die_with_parent(parent_pid: int) -> None:
    """End this process when `cin import` ends, however it ends: SIGTERM or SIGKILL of the
    parent never runs its clean-up, so the kernel is asked to kill us (Linux PR_SET_PDEATHSIG);
    elsewhere a thread watches the parent. If the parent is already gone, end now."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    else:

        def watch() -> None:
            while os.getppid() == parent_pid:
                time.sleep(0.5)
            os._exit(1)

        threading.Thread(target=watch, daemon=True, name="parent-watch").start()
    if os.getppid() != parent_pid:  # it died before the request took hold
        os._exit(1)


def _work(
    number: int,
    lines: list[NumberedLine],
    done: Synchronized[int],
    results: Queue[Any],
    parent_pid: int,
    per_line: bool,
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # discards one held since the start, too
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    die_with_parent(parent_pid)
    from cli.import_bulk import import_lines
    from engine.ingest import Ingest

    def advance(n: int) -> None:
        with done.get_lock():
            done.value += n

    ingest = Ingest.from_settings(deliver=False)
    tally = Tally()
    import_lines(ingest, lines, tally, advance, per_line=per_line)
    results.put((number, tally))
