"""Migration 0010_annex_a carries today's allocations over as dated ones (dated at the case's
referral, marked migrated: no date was kept), and `cin case allocate` dates each new one."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import command

from models.database import alembic_config, get_engine
from models.tables import Authority, Case


def test_allocations_before_0010_become_dated_rows(db_url: str) -> None:
    config = alembic_config(db_url)
    command.upgrade(config, "0009")
    engine = get_engine(db_url)
    held, unheld = uuid.uuid4(), uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Authority.__table__).values(  # type: ignore[attr-defined]
                slug="redbridge", name="R", nation="england", case_prefix="RED", next_case_number=3
            )
        )
        for n, (case_id, worker) in enumerate(((held, "W1"), (unheld, None)), start=1):
            conn.execute(
                sa.insert(Case.__table__).values(  # type: ignore[attr-defined]
                    id=case_id, case_ref=f"RED-00000{n}", authority="redbridge", child_ref="C1",
                    team="cin-east" if worker else None, stage="referral",
                    referral_date=date(2025, 5, n), re_referral=False, state={}, last_seq=1,
                    flow_seq=0, worker_id=worker, created_at=datetime(2025, 5, 1, tzinfo=UTC),
                    updated_at=datetime(2025, 9, 9, tzinfo=UTC),
                )
            )  # fmt: skip
    command.upgrade(config, "head")
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT case_id, allocated_on, team, worker_id, previous_team, migrated "
                "FROM case_allocation"
            )
        ).all()
    assert len(rows) == 1
    case_id, on, team, worker, previous, migrated = rows[0]
    assert str(case_id).replace("-", "") == held.hex
    assert (str(on), team, worker, previous, bool(migrated)) == (
        "2025-05-01",
        "cin-east",
        "W1",
        "cin-east",
        True,
    )
    command.downgrade(config, "0009")  # and back: the two tables go
    with engine.connect() as conn:
        names = set(sa.inspect(conn).get_table_names())
    assert "case_allocation" not in names and "contact" not in names
