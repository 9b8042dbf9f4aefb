"""List 1: the contacts of the period (`contact` rows), with the child's details when recorded,
streamed a batch at a time like the children of lists 3 to 7."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Engine, and_, select
from sqlmodel import Session, col

from models.annex_a.period import Period
from models.annex_a.rows import Row, contact_row
from models.census.source import BATCH, CHILD_COLUMNS, details_of
from models.tables import Child, Contact


def contacts_in(engine: Engine, *, authority: str, period: Period) -> Iterator[Row]:
    # the child's details sit where the census reader's case rows hold them (`details_of`)
    found = (
        select(
            col(Contact.child_ref),
            col(Contact.contact_on),
            col(Contact.source),
            col(Contact.id),
            *CHILD_COLUMNS,
        )
        .outerjoin(
            Child,
            and_(
                col(Child.authority) == col(Contact.authority),
                col(Child.child_ref) == col(Contact.child_ref),
            ),
        )
        .where(
            col(Contact.authority) == authority,
            col(Contact.contact_on) >= period.start,
            col(Contact.contact_on) <= period.as_of,
        )
        .order_by(col(Contact.child_ref), col(Contact.contact_on), col(Contact.source))
        .execution_options(yield_per=BATCH)
    )
    with Session(engine) as session:
        for row in session.execute(found):
            yield contact_row(row[0], details_of(row), row[1], row[2], period.as_of)
