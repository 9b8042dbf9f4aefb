"""Hand-built histories for the census tests, recorded through the real accept path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from models.cases.store import open_case, record
from models.census.child import parse_child
from models.census.child_store import set_child
from models.lifecycle import parse_event
from models.policy.book import PolicyBook

AUTHORITY = "redbridge"  # DfE LA 317


@dataclass(frozen=True)
class Story:
    child_ref: str
    child: dict[str, Any] | None
    episodes: Sequence[Sequence[dict[str, Any]]]  # each: the events of one case, opening first


def ev(kind: str, on: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "on": on, **fields}


def child(dob: str = "2015-06-01", *, sex: str = "F", **more: Any) -> dict[str, Any]:
    details: dict[str, Any] = {"sex": sex, "ethnicity": "WBRI", "disabilities": ["NONE"]}
    if "expected_birth_date" not in more:
        details["birth_date"] = dob
    if "upn_unknown" not in more and "upn" not in more:
        details["upn"] = upn_for(1)
    return {**details, **more}


def upn_for(n: int) -> str:
    """A valid UPN (right check letter) for LA 317, year 15, serial n."""
    from models.census.child import upn_check_letter

    body = f"31715{n:06d}1"
    draft = "A" + body
    return upn_check_letter(draft) + body


def record_story(engine: Engine, book: PolicyBook, story: Story) -> list[str]:
    """Record every episode of the story; returns the case references in order."""
    refs = []
    if story.child is not None:
        with Session(engine) as session:
            set_child(
                session,
                authority=AUTHORITY,
                child_ref=story.child_ref,
                details=parse_child(story.child),
            )
            session.commit()
    for events in story.episodes:
        first, *rest = events
        opened = open_case(
            engine,
            policies=book,
            authority=AUTHORITY,
            child_ref=story.child_ref,
            event=parse_event(first),
        )
        for event in rest:
            record(engine, policies=book, case_ref=opened.case_ref, event=parse_event(event))
        refs.append(opened.case_ref)
    return refs


def plant_legacy_closure(engine: Engine, case_ref: str, on: str, reason: str) -> int:
    """Append a closure the lifecycle now refuses (e.g. RC8 after a plan), as a log migrated from
    a council's previous system would hold it: the event row and the closed state, written
    directly. Returns its sequence number. Only the census tests plant such history."""
    from datetime import date

    from sqlmodel import select

    from models.tables import Case, CaseEvent

    with Session(engine) as session:
        case = session.exec(select(Case).where(Case.case_ref == case_ref)).one()
        seq = case.last_seq + 1
        session.add(
            CaseEvent(
                case_id=case.id,
                seq=seq,
                idempotency_key=f"legacy-{seq}",
                event_type="case_closed",
                occurred_on=date.fromisoformat(on),
                payload={"type": "case_closed", "on": on, "reason": reason},
            )
        )
        case.state = {**case.state, "stage": "closed", "closed_on": on, "closure_reason": reason}
        case.stage, case.last_seq = "closed", seq
        session.add(case)
        session.commit()
    return seq
