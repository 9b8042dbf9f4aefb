"""Who recorded each event: the store logs the actor, the timeline artifact shows it (staff ids,
never names), and a roster, once there is one, decides which staff ids are taken."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from models.access.actors import Actor
from models.cases.store import open_case, record
from models.cases.view import load_snapshot, timeline_markdown
from models.fields import FieldRefused
from models.lifecycle import parse_event
from models.policy.book import PolicyBook
from models.tables import CaseEvent, Staff

REFERRAL = {"type": "referral_received", "on": "2025-05-01", "source": "10"}


def test_the_timeline_shows_who_recorded_each_event(engine: Engine, book: PolicyBook) -> None:
    ref = open_case(
        engine, policies=book, authority="redbridge", child_ref="C1",
        event=parse_event(REFERRAL), actor=Actor("api", "mosaic (00ff)", "sw-1"),
    ).case_ref  # fmt: skip
    record(
        engine, policies=book, case_ref=ref,
        event=parse_event({"type": "visit_recorded", "on": "2025-05-02"}),
        actor=Actor("cli", "jo", "tm-2"),
    )  # fmt: skip
    record(
        engine, policies=book, case_ref=ref,
        event=parse_event({"type": "visit_recorded", "on": "2025-05-03"}),
    )  # fmt: skip
    markdown = timeline_markdown(load_snapshot(engine, ref), date(2025, 6, 2))
    assert "| 1 | 2025-05-01 | referral_received | source=10 | api:mosaic (00ff) by sw-1 |" in (
        markdown
    )
    assert "| 2 | 2025-05-02 | visit_recorded |  | cli:jo by tm-2 |" in markdown
    assert "| 3 | 2025-05-03 | visit_recorded |  | python:python api |" in markdown
    assert "C1" not in markdown


def test_recorded_by_must_be_on_the_roster_once_there_is_one(
    engine: Engine, book: PolicyBook
) -> None:
    def refer(child: str, by: str) -> str:
        return open_case(
            engine, policies=book, authority="redbridge", child_ref=child,
            event=parse_event(REFERRAL), actor=Actor("api", "ics", by),
        ).case_ref  # fmt: skip

    refer("C1", "anyone-1")  # no roster yet: any well-formed staff id
    with Session(engine) as session:
        session.add(Staff(authority="redbridge", staff_id="sw-1", name="N", email="n@x.example",
                          role="social_worker"))  # fmt: skip
        session.add(Staff(authority="redbridge", staff_id="sw-old", name="O", email="o@x.example",
                          role="social_worker", active=False))  # fmt: skip
        session.commit()
    for stranger in ("anyone-2", "sw-old"):
        with pytest.raises(FieldRefused, match="recorded_by: expected an active staff id"):
            refer("C2", stranger)
    refer("C2", "sw-1")
    with Session(engine) as session:
        logged = session.exec(select(CaseEvent).order_by(CaseEvent.recorded_at))  # type: ignore[arg-type]
        assert [e.recorded_by for e in logged] == ["anyone-1", "sw-1"]
