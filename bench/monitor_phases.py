"""The monitor pass timed phase by phase (bench/monitor_bench.py): the named functions of
`notifications.monitor` and `notifications.raising` are wrapped with timers while a pass runs,
and the split is printed. A phase whose function its module no longer has stops the bench (it
would show 0 and move its time to "the rest" unseen, as `_raise` did once raising.py was split
out of monitor.py).
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as clock_time
from typing import Any

from sqlalchemy import Engine

from models.policy.book import PolicyBook
from notifications import monitor, raising
from notifications.monitor import MonitorConfig, PassReport, run_pass

# the functions timed while a pass runs, by the module whose name for them the pass calls
PHASES: dict[Any, tuple[str, ...]] = {
    monitor: (
        "due_items",
        "active_staff",
        "decide",
        "build_alerts",
        "write_alerts",
        "release_held",
        "digest_alerts",
        "_digest_dispatches",
        "create_digests",
    ),
    raising: ("record_findings",),
}


@dataclass
class Phases:
    seconds: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    calls: Counter[str] = field(default_factory=Counter)

    @contextmanager
    def installed(self) -> Iterator[None]:
        missing = [
            f"{module.__name__}.{name}"
            for module, names in PHASES.items()
            for name in names
            if not hasattr(module, name)
        ]
        if missing:
            raise SystemExit(f"bench/monitor_phases.py: no function {', '.join(missing)} to time")
        originals = [
            (module, name, getattr(module, name))
            for module, names in PHASES.items()
            for name in names
        ]
        for module, name, function in originals:
            setattr(module, name, self._timed(name, function))
        try:
            yield
        finally:
            for module, name, function in originals:
                setattr(module, name, function)

    def _timed(self, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - t0
                self.calls[name] += 1

        return timed

    def split(self, total: float) -> list[tuple[str, float, int]]:
        s, n = self.seconds, self.calls
        # record_findings runs in the writer thread for the batches, in the pass's for release_held
        held_written = max(0.0, s["record_findings"] - s["write_alerts"])
        parts = [
            ("due-items query (due_items)", s["due_items"], n["due_items"]),
            ("staff directories (active_staff)", s["active_staff"], n["active_staff"]),
            ("decisions (ladder.decide)", s["decide"], n["decide"]),
            (
                "alerts built (routing, text)",
                s["build_alerts"] + s["release_held"] - held_written,
                n["build_alerts"] + n["release_held"],
            ),
            ("held alerts written (record_findings)", held_written, n["release_held"]),
            ("digest alerts read (digest_alerts)", s["digest_alerts"], n["digest_alerts"]),
            # composed while the last batch is written: the writer's wait is the rest's
            (
                "digests built (grouping, text)",
                s["_digest_dispatches"],
                n["_digest_dispatches"],
            ),
            ("digests written (create_digests)", s["create_digests"], n["create_digests"]),
        ]
        rest = total - sum(p[1] for p in parts)
        # the batches' marks and alerts are written by a thread of their own while the next
        # batch is built: shown, but not counted in the sum (the pass's wait for it is the rest's)
        beside = (
            "  marks + alerts written, beside (write_alerts)",
            s["write_alerts"],
            n["write_alerts"],
        )
        return [
            *parts,
            ("the rest (lock, policies, tally, writer waits)", rest, 1),
            beside,
        ]


@dataclass
class Timed:
    label: str
    as_of: date
    seconds: float
    report: PassReport
    phases: Phases

    @property
    def raised(self) -> int:
        return len(self.report.raised)


def timed_pass(
    label: str, engine: Engine, book: PolicyBook, as_of: date, config: MonitorConfig
) -> Timed:
    phases = Phases()
    now = datetime.combine(as_of, clock_time(17, 0), tzinfo=UTC)
    with phases.installed():
        t0 = time.perf_counter()
        report = run_pass(engine, book, as_of=as_of, now=now, config=config)
        seconds = time.perf_counter() - t0
    return Timed(label, as_of, seconds, report, phases)


def show(timed: Timed, *, split: bool = True) -> None:
    r = timed.report
    print(
        f"{timed.label} ({timed.as_of.isoformat()}): {timed.seconds:.2f} s; "
        f"{r.due_items:,} due items, {r.decisions:,} decisions, {timed.raised:,} alerts raised "
        f"({len(r.escalations()):,} escalations, {r.immediate} immediate, {r.unrouted} unrouted), "
        f"{len(r.newly_overdue):,} newly overdue, {r.digests:,} digests"
    )
    if r.due_items:
        print(f"  {timed.seconds / r.due_items * 1e6:.0f} us per due item")
    if split:
        for name, seconds, calls in timed.phases.split(timed.seconds):
            share = seconds / timed.seconds * 100 if timed.seconds else 0.0
            print(f"    {name:<48} {seconds:7.2f} s {share:5.1f}%  ({calls:,} calls)")
