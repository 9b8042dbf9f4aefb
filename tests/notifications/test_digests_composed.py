"""The day's digests are composed from the alerts the pass has just written, not read back
(notifications/monitor.py): they must be exactly the digests the database's waiting alerts make,
and when a line is no longer waiting the pass writes nothing from its own lines and reads the
database instead. SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, delete, update
from sqlmodel import Session, col, select

from models.alerts.dispatch import (
    DigestsChanged,
    create_digests,
    digest_alerts,
    new_dispatch,
)
from models.policy.book import PolicyBook
from models.tables import Alert, Dispatch
from notifications import monitor
from notifications.monitor import MonitorConfig, PassReport, run_pass
from tests.notifications.caseload import AS_OF, overdue_caseload

CONFIG = MonitorConfig(
    ui_url="http://ui.example", smtp_url=None, deliver=False, batch=3, environ={}, instance="i1"
)


def digests(engine: Engine) -> dict[str, tuple[str, str, frozenset[uuid.UUID]]]:
    """Each digest dispatch by key: its subject, body and the alerts that name it."""
    with Session(engine) as session:
        rows = session.exec(select(Dispatch).where(col(Dispatch.key).startswith("digest:")))
        found = {d.id: d for d in rows}
        carried: dict[uuid.UUID, set[uuid.UUID]] = {i: set() for i in found}
        for alert in session.exec(select(Alert).where(col(Alert.mode) == "digest")):
            if alert.dispatch_id in carried:
                carried[alert.dispatch_id].add(alert.id)
    return {d.key: (d.subject, d.body, frozenset(carried[i])) for i, d in found.items()}


def undo_digests(engine: Engine) -> None:
    """The database as it was before the pass composed its digests: every digest alert waiting."""
    with Session(engine) as session:
        session.execute(update(Alert).where(col(Alert.mode) == "digest").values(dispatch_id=None))
        session.execute(delete(Dispatch).where(col(Dispatch.key).startswith("digest:")))
        session.commit()


def read_back(engine: Engine, book: PolicyBook) -> PassReport:
    """The digests composed from the database's waiting alerts (the path the pass takes when a
    line it built was not written as built)."""
    report = PassReport(as_of=AS_OF)
    views = monitor._policies_on(book, AS_OF)
    lines = monitor._Digests([], enabled=True)
    lines.missed = True
    monitor._compose_digests(engine, views, AS_OF, report, lines)
    return report


def test_the_digests_composed_from_the_pass_are_those_read_back(
    engine: Engine, book: PolicyBook
) -> None:
    overdue_caseload(engine, book)
    report = run_pass(engine, book, as_of=AS_OF, now=datetime.now(UTC), config=CONFIG)
    composed = digests(engine)
    assert report.digests == len(composed) >= 2
    assert (
        sum(len(c[2]) for c in composed.values())
        == sum(1 for r in report.raised if r.channel != "none") - report.immediate
    )  # every digest alert the pass raised is carried, once

    undo_digests(engine)
    assert read_back(engine, book).digests == len(composed)
    assert digests(engine) == composed


@pytest.mark.parametrize("change", ["claimed", "gone"])
def test_a_line_no_longer_waiting_writes_nothing_and_the_database_is_read(
    engine: Engine, book: PolicyBook, change: str
) -> None:
    overdue_caseload(engine, book)
    run_pass(engine, book, as_of=AS_OF, now=datetime.now(UTC), config=CONFIG)
    expected = digests(engine)
    undo_digests(engine)
    with Session(engine) as session:
        waiting = digest_alerts(session, day=AS_OF)
    stale = replace(waiting[0], id=uuid.uuid4(), case_ref="GONE-000001", headline="GONE-000001")
    if change == "claimed":  # another digest carries one of the lines: left to it
        other = new_dispatch(
            key="digest:elsewhere", authority="redbridge", channel="email",
            recipient=waiting[0].recipient, subject="s", body="b",
        )  # fmt: skip
        with Session(engine) as session:
            create_digests(session, [(other, [waiting[0].id])])
        lines = list(waiting)
    else:  # a line whose alert is not there (a record destroyed meanwhile)
        lines = [*waiting, stale]

    views = monitor._policies_on(book, AS_OF)
    prepared = monitor._digest_dispatches(views, AS_OF, lines)
    before = digests(engine)
    with Session(engine) as session, pytest.raises(DigestsChanged):
        create_digests(session, prepared, exact=True)
    assert digests(engine) == before  # nothing written

    book_ = monitor._Digests(lines, enabled=True)
    report = PassReport(as_of=AS_OF)
    monitor._compose_digests(engine, views, AS_OF, report, book_)
    now = digests(engine)
    assert all("GONE-000001" not in body for _, body, _ in now.values())
    if change == "gone":
        assert now == expected  # composed from the database: the same digests
    else:
        carried: set[Any] = set().union(*(c[2] for c in now.values()))
        assert waiting[0].id in carried and len(carried) == len(waiting)
