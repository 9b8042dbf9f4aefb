"""`cin case show` reads and logs through SQLAlchemy Core (`models.core_tables`) so that it
loads no SQLModel (issue 20): the clauses agree with the table models, and the read gives the
rows the SQLModel readers give, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, TypeDecorator, update
from sqlalchemy.types import TypeEngine
from sqlmodel import Session, SQLModel

from models.access.audit import audit_for_case, write_audit
from models.cases.reads import case_deadlines, case_events, load_case
from models.cases.show import UnknownCase, case_to_show
from models.core_tables import CORE_TABLES
from models.lifecycle import AssessmentStarted, ReferralDecision
from models.policy.book import PolicyBook
from models.tables import Outbox
from tests.models.cases.factories import d, play, referral


def storage(kind: TypeEngine[object]) -> tuple[str, object]:
    """How a column is stored: the type under any decorator, and its time zone flag."""
    base = kind.impl_instance if isinstance(kind, TypeDecorator) else kind
    return type(base).__name__, getattr(base, "timezone", None)


def test_the_core_clauses_name_real_columns_stored_as_the_table_models_store_them() -> None:
    for clause in CORE_TABLES:
        full = SQLModel.metadata.tables[clause.name]
        for column in clause.columns:
            assert column.name in full.c, f"{clause.name}.{column.name} is not a column"
            assert storage(column.type) == storage(full.c[column.name].type), (
                f"{clause.name}.{column.name}"
            )


def test_case_to_show_gives_the_rows_the_sqlmodel_readers_give(
    engine: Engine, book: PolicyBook
) -> None:
    case_ref = play(engine, book, "redbridge", [
        referral("2025-01-06"),
        ReferralDecision(on=d("2025-01-07"), outcome="assessment"),
        AssessmentStarted(on=d("2025-01-08")),
    ])  # fmt: skip
    with Session(engine) as session:
        case = load_case(session, case_ref)
        session.exec(  # type: ignore[call-overload]
            update(Outbox)
            .where(Outbox.case_id == case.id, Outbox.seq == 2)  # type: ignore[arg-type]
            .values(delivered_at=datetime.now(UTC))
        )
        session.commit()
        columns = ("id", "case_ref", "authority", "child_ref", "team", "stage", "referral_date",
                   "re_referral", "state", "last_seq", "flow_seq")  # fmt: skip
        expected_case = tuple(getattr(case, c) for c in columns)
        deadlines = [
            (x.case_id, x.key, x.kind, x.due, x.status, x.policy_ref, x.explanation, x.met_on)
            for x in case_deadlines(session, case.id)
        ]
        events = [
            (e.case_id, e.seq, e.event_type, e.occurred_on, e.recorded_at, e.actor_kind, e.actor,
             e.recorded_by)
            for e in case_events(session, case.id)
        ]  # fmt: skip
    # after the session: on SQLite a transaction holds the write lock from its BEGIN
    shown = case_to_show(engine, case_ref)
    assert tuple(shown.case) == expected_case
    assert [tuple(row) for row in shown.deadlines] == deadlines
    assert len(deadlines) >= 2 and any(row[-1] for row in deadlines)  # one met, one open
    assert [tuple(row) for row in shown.events] == events
    assert all(row.recorded_at.tzinfo == UTC for row in shown.events)
    assert shown.undelivered == [1, 3]  # event 2 was delivered
    try:
        case_to_show(engine, "RED-999999")
    except UnknownCase as refusal:
        assert str(refusal) == "no case 'RED-999999'"
    else:
        raise AssertionError("an unknown case was shown")


def test_an_access_row_written_through_core_reads_back_through_sqlmodel(engine: Engine) -> None:
    earlier = datetime(2026, 3, 1, 9, 30, tzinfo=UTC) + timedelta(microseconds=5)
    write_audit(engine, actor_kind="cli", actor="ops", action="case show", outcome="shown",
                authority="redbridge", case_ref="RED-000001", at=earlier)  # fmt: skip
    before = datetime.now(UTC)
    write_audit(engine, actor_kind="cli", actor="ops" * 100, action="case show", outcome="shown",
                case_ref="RED-000001")  # fmt: skip
    first, second = audit_for_case(engine, "RED-000001")
    assert (first.at, first.actor, first.authority) == (earlier, "ops", "redbridge")
    assert second.at.tzinfo == UTC and before <= second.at <= datetime.now(UTC)
    assert len(second.actor) == 200 and second.authority is None and second.id != first.id
