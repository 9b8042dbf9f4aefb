"""A lost Prefect database's cases handed back to the outbox (models/cases/outbox.py
`hand_back_lost_runs`), on both databases (the `engine` fixture): each case whose run is lost
waits in the outbox as a go-live import leaves it, and the outbox makes its runs a few at a time."""

from __future__ import annotations

import uuid

from sqlalchemy import Engine
from sqlmodel import Session, col, delete, select, update

from models.cases.ledger import mark_flow_handled
from models.cases.outbox import due_cases, hand_back_lost_runs, open_case_runs, stuck_cases
from models.cases.store import record
from models.lifecycle import ReferralDecision
from models.policy.book import PolicyBook
from models.tables import Case, Outbox, utcnow
from tests.models.cases.factories import d, open_referral


def _case(engine: Engine, case_ref: str) -> Case:
    with Session(engine) as session:
        return session.exec(select(Case).where(Case.case_ref == case_ref)).one()


def _rows(engine: Engine, case_ref: str) -> list[tuple[int, bool]]:
    """(seq, delivered) of the case's outbox rows."""
    with Session(engine) as session:
        rows = session.exec(
            select(Outbox.seq, Outbox.delivered_at)
            .join(Case, col(Case.id) == col(Outbox.case_id))
            .where(Case.case_ref == case_ref)
            .order_by(col(Outbox.seq))
        ).all()
    return [(seq, at is not None) for seq, at in rows]


def test_lost_runs_go_back_to_the_outbox_and_are_made_a_few_at_a_time(
    engine: Engine, book: PolicyBook
) -> None:
    refs = [open_referral(engine, book, child_ref=f"c{n}").case_ref for n in range(5)]
    in_step, behind, remade, kept, no_row = refs
    decision = ReferralDecision(on=d("2025-01-07"), outcome="assessment")
    for ref in (in_step, behind):
        record(engine, policies=book, case_ref=ref, event=decision)
    with Session(engine) as session:  # every run made and every row delivered
        for case in session.exec(select(Case)):
            case.flow_run_id = uuid.uuid4()
            session.add(case)
        session.exec(update(Outbox).values(delivered_at=utcnow()))
        session.commit()
    for ref in refs:
        if ref != behind:  # its run had handled the referral only
            mark_flow_handled(engine, case_ref=ref, seq=_case(engine, ref).last_seq)
    mark_flow_handled(engine, case_ref=behind, seq=1)
    with Session(engine) as session:
        session.exec(delete(Outbox).where(col(Outbox.case_id) == _case(engine, no_row).id))
        session.commit()
    lost = [pair for pair in open_case_runs(engine) if pair[0] != _case(engine, kept).id]
    assert len(lost) == 4
    newer = uuid.uuid4()  # another worker made this case's run again meanwhile
    with Session(engine) as session:
        session.exec(update(Case).where(col(Case.case_ref) == remade).values(flow_run_id=newer))
        session.commit()

    assert hand_back_lost_runs(engine, lost) == 3

    for ref, last, handled in ((in_step, 2, 1), (behind, 2, 1), (no_row, 1, 0)):
        case = _case(engine, ref)
        assert (case.flow_run_id, case.last_seq, case.flow_seq) == (None, last, handled), ref
    assert _rows(engine, in_step) == [(1, True), (2, False)]  # its last event due again
    assert _rows(engine, behind) == [(1, True), (2, False)]  # the first its run had not handled
    assert _rows(engine, no_row) == [(1, False)]  # a row made for it
    assert _case(engine, remade).flow_run_id == newer and _case(engine, remade).flow_seq == 1
    assert _case(engine, kept).flow_run_id is not None and _rows(engine, kept) == [(1, True)]

    # the outbox's: not out of step, and made `create` at a time
    assert stuck_cases(engine, 10, patient=False)[0] == []
    due = due_cases(engine, 10, settle=False, create=lambda: 2)
    assert len(due.cases) == 2 and due.deferred == 1
    assert set(due.cases) <= {in_step, behind, no_row}
    assert hand_back_lost_runs(engine, lost) == 0  # their runs are gone already: nothing twice
