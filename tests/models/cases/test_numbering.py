"""Openings that run at once (models/cases/numbering.py): the case number is taken last, the
checks are serial per child, and the bulk import still keeps them apart.

On both databases (the `engine` fixture) unless the test says why not.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from models.cases.bulk import CaseBatch
from models.cases.store import Accepted, open_case
from models.lifecycle import EventRefused
from models.policy.book import PolicyBook
from models.tables import Authority, Case
from tests.models.cases.factories import open_referral, referral

THREADS = 8


def test_openings_for_one_child_under_different_keys_at_once_open_one_case(
    engine: Engine, book: PolicyBook
) -> None:
    """Two recording systems refer the same child at the same moment: one case, the others are
    told which case is open; one number given, none lost."""
    open_referral(engine, book, child_ref="someoneelse")  # RED-000001
    start = threading.Barrier(THREADS, timeout=60)

    def opening(thread: int) -> Accepted | str:
        start.wait()
        try:
            return open_referral(engine, book, child_ref="twice", key=f"system-{thread}")
        except EventRefused as refused:
            return str(refused)

    with ThreadPoolExecutor(THREADS) as pool:
        answers = list(pool.map(opening, range(THREADS)))

    opened = [a for a in answers if isinstance(a, Accepted)]
    refused = [a for a in answers if isinstance(a, str)]
    assert [a.case_ref for a in opened] == ["RED-000002"]
    assert len(refused) == THREADS - 1
    assert all("already has an open case, RED-000002" in r for r in refused)
    with Session(engine) as session:
        refs = sorted(session.exec(select(col(Case.case_ref))))
        authority = session.get(Authority, "redbridge")
    assert refs == ["RED-000001", "RED-000002"]  # no provisional reference left behind
    assert authority is not None and authority.next_case_number == 3


def test_openings_of_many_children_at_once_are_numbered_without_gaps_or_provisional_refs(
    engine: Engine, book: PolicyBook
) -> None:
    start = threading.Barrier(THREADS, timeout=60)

    def openings(thread: int) -> list[str]:
        start.wait()
        return [open_referral(engine, book, child_ref=f"c{thread}x{n}").case_ref for n in range(5)]

    with ThreadPoolExecutor(THREADS) as pool:
        refs = [ref for got in pool.map(openings, range(THREADS)) for ref in got]

    expected = [f"RED-{n:06d}" for n in range(1, 5 * THREADS + 1)]
    assert sorted(refs) == expected
    with Session(engine) as session:
        assert sorted(session.exec(select(col(Case.case_ref)))) == expected


# PostgreSQL only: the test below watches a backend wait on a lock (pg_stat_activity); SQLite's
# writers wait at BEGIN IMMEDIATE before any check, whatever the code does.
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_an_opening_waits_for_a_bulk_import_that_opens_the_same_child_then_is_refused(
    engine: Engine, book: PolicyBook
) -> None:
    """The bulk import locks the authorities whole and checks a chunk's children without
    locking the children who have no case yet; an opening under way for one of them must not
    pass its checks before the import commits (it would open a second case for the child)."""
    with Session(engine) as importing:
        batch = CaseBatch(importing, policies=book, today=None)
        batch.load(children={("redbridge", "kid")}, case_refs=set())
        batch.open_case(
            authority="redbridge", child_ref="kid", event=referral("2025-01-06"), key="bulk-1"
        )
        batch.write()
        with ThreadPoolExecutor(1) as pool:
            answer = pool.submit(
                lambda: open_case(
                    engine,
                    policies=book,
                    authority="redbridge",
                    child_ref="kid",
                    event=referral("2025-01-07"),
                    key="api-1",
                )
            )
            _until_a_backend_waits_on_a_lock(engine)
            assert not answer.done()
            importing.commit()
            with pytest.raises(EventRefused, match="already has an open case, RED-000001"):
                answer.result(timeout=60)
    with Session(engine) as session:
        assert list(session.exec(select(col(Case.case_ref)))) == ["RED-000001"]


def _until_a_backend_waits_on_a_lock(engine: Engine, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    query = text(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            if connection.execute(query).scalar():
                return
        time.sleep(0.05)
    raise AssertionError(f"no backend waited on a lock within {seconds:g} s")
