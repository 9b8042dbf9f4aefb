"""The monitor's set-at-a-time writes (models/alerts/bulk.py), on SQLite and PostgreSQL.

On PostgreSQL `insert_new` COPYs the rows straight into the table when none exists yet, and
falls back to an INSERT ... ON CONFLICT DO NOTHING from a staged copy when one does: both paths
must insert exactly the rows whose key is new and leave the existing rows as they were."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session

from models.alerts.bulk import insert_new, update_by_id
from models.alerts.dispatch import new_dispatch
from models.tables import Dispatch

DISPATCH = Dispatch.__table__  # type: ignore[attr-defined]


def dispatch(n: int, body: str = "first") -> dict[str, Any]:
    return new_dispatch(
        key=f"digest:email:redbridge/staff:{n}:2025-06-10", authority="redbridge",
        channel="email", recipient=f"staff:{n}", subject=f"digest {n}", body=body,
    )  # fmt: skip


def stored(engine: Engine) -> dict[str, tuple[Any, ...]]:
    c = DISPATCH.c
    with Session(engine) as session:
        rows = session.execute(select(c.key, c.id, c.body, c.attempts, c.sent_at)).all()
    return {row[0]: tuple(row[1:]) for row in rows}


def test_insert_new_adds_only_the_new_keys_and_leaves_the_rest(engine: Engine) -> None:
    first = [dispatch(n) for n in range(5)]
    with Session(engine) as session:
        assert insert_new(session, DISPATCH, first) == {row["key"] for row in first}
        session.commit()
    before = stored(engine)
    assert set(before) == {row["key"] for row in first}

    # keys 3 and 4 exist (with other ids and bodies); 5 and 6 are new; 6 comes twice
    again = [dispatch(n, body="second") for n in (3, 4, 5, 6, 6)]
    with Session(engine) as session:
        added = insert_new(session, DISPATCH, again)
        session.commit()
    assert added == {again[2]["key"], again[3]["key"]}
    after = stored(engine)
    assert set(after) == set(before) | added
    assert {key: after[key] for key in before} == before  # the existing rows untouched
    assert after[again[2]["key"]][1] == "second"


def test_a_failed_insert_leaves_the_transaction_usable(engine: Engine) -> None:
    """The COPY that meets an existing key is undone to its savepoint: what the same
    transaction wrote before it is kept and committed."""
    with Session(engine) as session:
        insert_new(session, DISPATCH, [dispatch(1)])
        session.commit()
    sent = datetime(2025, 6, 10, 17, tzinfo=UTC)
    with Session(engine) as session:
        first_id = stored(engine)[dispatch(1)["key"]][0]
        update_by_id(session, DISPATCH, [{"id": first_id, "sent_at": sent, "attempts": 1}])
        assert insert_new(session, DISPATCH, [dispatch(1), dispatch(2)]) == {dispatch(2)["key"]}
        session.commit()
    after = stored(engine)
    assert after[dispatch(1)["key"]][2:] == (1, sent)
    assert dispatch(2)["key"] in after


def test_update_by_id_only_if_null(engine: Engine) -> None:
    rows = [dispatch(n) for n in range(3)]
    when = datetime(2025, 6, 10, 17, tzinfo=UTC)
    with Session(engine) as session:
        insert_new(session, DISPATCH, rows)
        assert update_by_id(session, DISPATCH, [{"id": rows[0]["id"], "sent_at": when}]) == 1
        later = [{"id": row["id"], "sent_at": when + timedelta(hours=1)} for row in rows]
        later.append({"id": uuid.uuid4(), "sent_at": when})  # no such row: nothing
        # the rows it changed: not the one already set, not the one that is not there
        assert update_by_id(session, DISPATCH, later, only_if_null="sent_at") == 2
        session.commit()
    after = stored(engine)
    assert len(after) == 3
    assert after[rows[0]["key"]][3] == when
    assert after[rows[1]["key"]][3] == after[rows[2]["key"]][3] == when + timedelta(hours=1)
