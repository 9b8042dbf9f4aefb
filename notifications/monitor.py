"""One deadline monitor pass: find what is due or overdue, mark it, raise alerts, compose the
day's digests, send what is waiting. Prefect-free (flows/monitor.py runs it as a flow; the
benchmark and `cin monitor run` call it too).

1. One indexed query returns the due items: open deadlines due on or before the "due soon"
   horizon, and open drift. Its cost follows the number of due items, not cases.
2. For each item `notifications.ladder.decide` says what to do today under its authority's policy.
   The item's marks and its new alerts (one per rung, channel and recipient, keyed so each exists
   once) commit together, in batches; an urgent alert gets its own dispatch in the same commit.
3. Digest alerts not yet carried are grouped by recipient into that day's digest (one dispatch per
   recipient per day, keyed so): those waiting when the pass began and those it has just written,
   composed while its last batch is written, not read back.
4. Every dispatch due for an attempt is sent through Apprise and marked sent; a failure stays
   pending with its error and a backed-off next attempt.
"""

from __future__ import annotations

import gc
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from models.alerts.dispatch import (
    DigestLine,
    DigestsChanged,
    create_digests,
    digest_alerts,
    digest_key,
    new_dispatch,
)
from models.alerts.store import DueItem, due_items, monitor_lock
from models.cases.view import overdue_since
from models.instance import instance_id
from models.policy.book import PolicyBook, PolicyError, ResolvedPolicy
from models.staff.roster import Person
from models.staff.store import active_staff
from notifications import messages
from notifications.ladder import Decision, decide, soon_horizon
from notifications.raising import (
    Router,
    Rows,
    build_alerts,
    digest_line,
    release_held,
    write_alerts,
)
from notifications.report import BATCH, MonitorConfig, PassReport, Raised, TeamOverdue
from notifications.sending import deliver

__all__ = [
    "BATCH",
    "MonitorConfig",
    "PassReport",
    "Raised",
    "Router",
    "TeamOverdue",
    "deliver",
    "run_pass",
]


CrashHook = Callable[[str, int], None]


def run_pass(
    engine: Engine,
    policies: PolicyBook,
    *,
    as_of: date,
    now: datetime,
    config: MonitorConfig,
    crash: CrashHook | None = None,
) -> PassReport:
    """One pass for `as_of` (the London date); `now` is the wall time for send retries."""
    report = PassReport(as_of=as_of)
    if not config.instance:
        config = replace(config, instance=instance_id(engine))
    with monitor_lock(engine), _collector_paused():
        views = _policies_on(policies, as_of)
        horizon = max(
            (soon_horizon(v, as_of, config.soon_working_days) for v in views.values()),
            default=as_of,
        )
        with Session(engine) as session:
            rows = due_items(session, as_of=as_of, horizon=horizon)
            directories = {slug: _directory(active_staff(session, slug)) for slug in views}
            # the digests carry these and what this pass writes (it alone writes alerts)
            waiting = digest_alerts(session, day=as_of) if config.digests else []
        book = _Digests(waiting, enabled=config.digests)
        router = Router(directories, config.environ)
        report.due_items = len(rows)
        _tally_overdue(report, rows, as_of)
        decisions = [
            d
            for d in (
                decide(r, views[r.authority], as_of, config.soon_working_days)
                for r in rows
                if r.authority in views
            )
            if d is not None
        ]
        report.decisions = len(decisions)
        _raise_in_batches(engine, decisions, views, router, as_of, config, report, crash, book)
        book.add(release_held(engine, rows, views, router, as_of, config, report))
        if config.digests:
            _compose_digests(engine, views, as_of, report, book)
        if crash is not None:
            crash("monitor-before-send", 1)
        if config.deliver:
            # what this pass created is due now too: never earlier than the wall clock
            moment = max(now, datetime.now(UTC))
            deliver(engine, now=moment, config=config, report=report, crash=crash)
    return report


def _raise_in_batches(
    engine: Engine,
    decisions: Sequence[Decision],
    views: Mapping[str, ResolvedPolicy],
    router: Router,
    as_of: date,
    config: MonitorConfig,
    report: PassReport,
    crash: CrashHook | None,
    book: _Digests,
) -> None:
    """Each batch's rows written in a transaction of its own, in order, by one writer thread
    while this thread builds the next batch: PostgreSQL's work on batch k (marks, alerts, their
    indexes and checks) overlaps the client's on batch k+1 instead of following it. Building
    touches no database, and batch k+1 is handed to the writer only after batch k committed
    (and the crash hook ran), so the database after batch k is what it was with one thread.
    While the last batch is written, this thread composes the day's digests (`book`)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="monitor-writer") as writer:
        pending: Future[None] | None = None
        batch_no = 0
        for start in range(0, len(decisions), config.batch):
            batch = decisions[start : start + config.batch]
            rows = build_alerts(batch, views, router, as_of, config)
            book.built(rows.alerts)
            if pending is not None:
                pending.result()
                if crash is not None:
                    crash("monitor-batch", batch_no)
            batch_no += 1
            pending = writer.submit(_write_batch, engine, rows, batch, report, book)
        if config.digests:
            book.prepare(views, as_of)
        if pending is not None:
            pending.result()
            if crash is not None:
                crash("monitor-batch", batch_no)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector, off for the pass. A pass holds ~10 objects per due item
    until it ends and makes no reference cycles; the collector rescanning them took more than
    half of a pass over 400,000 cases (17.1 s against 8.0 s with 37,000 items overdue)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _policies_on(policies: PolicyBook, day: date) -> dict[str, ResolvedPolicy]:
    views: dict[str, ResolvedPolicy] = {}
    for slug in policies.slugs():
        try:
            views[slug] = policies.authority(slug).on(day)
        except PolicyError:
            continue  # no version in force that day: nothing of this authority is judged
    return views


def _directory(staff: Sequence[Person]) -> dict[str, Person]:
    return {s.staff_id: s for s in staff}


def _tally_overdue(report: PassReport, rows: Sequence[DueItem], as_of: date) -> None:
    table: dict[tuple[str, str], TeamOverdue] = defaultdict(TeamOverdue)
    for row in rows:
        if row.source == "drift":
            table[(row.authority, row.team or "unallocated")].drift += 1
        elif row.due < as_of:
            entry = table[(row.authority, row.team or "unallocated")]
            entry.overdue += 1
            report.overdue_cases[row.case_ref] = row.flow_run_id
            entry.escalated_past_team_manager += row.escalation_level >= 2
            since = overdue_since(row.due)
            if entry.oldest_since is None or since < entry.oldest_since:
                entry.oldest_since = since
    report.overdue = dict(sorted(table.items()))


class _Digests:
    """The lines of the day's digests: the digest alerts waiting when the pass began, and those
    the pass builds. The digests are composed from them once the last batch is built (`prepare`),
    valid only if every line built was written (`missed` stays False: a pass run again after a
    crash finds some of its alerts there already, as they were, and reads those back)."""

    def __init__(self, waiting: list[DigestLine], *, enabled: bool) -> None:
        self.enabled = enabled
        self.lines = waiting
        self.missed = False
        self.prepared: list[tuple[dict[str, Any], list[uuid.UUID]]] | None = None

    def built(self, alerts: Sequence[dict[str, Any]]) -> None:
        if self.enabled:
            self.lines.extend(digest_line(a) for a in alerts if a["mode"] == "digest")

    def written(self, alerts: Sequence[dict[str, Any]], added: set[str]) -> None:
        """The writer thread, after a batch committed: were all its digest alerts new rows?"""
        if any(a["mode"] == "digest" and a["key"] not in added for a in alerts):
            self.missed = True

    def add(self, released: Sequence[DigestLine]) -> None:
        """Digest alerts written after the batches (held ones released): composed again."""
        if released:
            self.lines.extend(released)
            self.prepared = None

    def prepare(self, views: Mapping[str, ResolvedPolicy], day: date) -> None:
        self.prepared = _digest_dispatches(views, day, self.lines)


def _write_batch(
    engine: Engine, rows: Rows, batch: Sequence[Decision], report: PassReport, book: _Digests
) -> None:
    book.written(rows.alerts, write_alerts(engine, rows, batch, report))


def _compose_digests(
    engine: Engine,
    views: Mapping[str, ResolvedPolicy],
    day: date,
    report: PassReport,
    book: _Digests,
) -> None:
    """The day's digests from the pass's lines; read from the database instead when a line was
    not written by this pass as built (a pass run again) or is no longer waiting."""
    if not book.missed:
        prepared = book.prepared
        if prepared is None:
            prepared = _digest_dispatches(views, day, book.lines)
        if not prepared:
            return  # nothing waiting, nothing built: no transaction (most passes of a day)
        try:
            with Session(engine) as session:
                report.digests += create_digests(session, prepared, exact=True)
            return
        except DigestsChanged:
            pass
    with Session(engine) as session:
        waiting = digest_alerts(session, day=day)
    digests = _digest_dispatches(views, day, waiting)
    if digests:
        with Session(engine) as session:
            report.digests += create_digests(session, digests)


def _digest_dispatches(
    views: Mapping[str, ResolvedPolicy], day: date, waiting: Sequence[DigestLine]
) -> list[tuple[dict[str, Any], list[uuid.UUID]]]:
    """One dispatch per (authority, channel, recipient) on the authority's working days, with
    the ids of the alerts it carries."""
    groups: dict[tuple[str, str, str], list[DigestLine]] = defaultdict(list)
    for alert in waiting:
        view = views.get(alert.authority)
        if view is None or not view.calendar.is_working_day(day):
            continue  # digests go out on the authority's working days
        groups[(alert.authority, alert.channel, alert.recipient)].append(alert)
    digests: list[tuple[dict[str, Any], list[uuid.UUID]]] = []
    for (authority, channel, recipient), alerts in groups.items():
        audience = "team" if recipient.startswith("team:") else alerts[0].role
        subject, body = messages.digest(day, alerts, audience=audience)
        dispatch = new_dispatch(
            key=digest_key(channel, recipient, authority, day), authority=authority,
            channel=channel, recipient=recipient, subject=subject, body=body,
        )  # fmt: skip
        digests.append((dispatch, [a.id for a in alerts]))
    return digests
