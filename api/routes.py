"""The /v1 routes. Each hands its work to the store through engine/ingest.py; a case of another
authority is answered 404 exactly as a case that does not exist."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from sqlmodel import Session, col, select

from api.auth import reader, recorder
from api.errors import ERROR_RESPONSES, ApiError
from api.idempotency import checked_key, claim
from api.schemas import (
    Accepted,
    CaseOut,
    ChildSet,
    ContactRecorded,
    DeadlineItem,
    DeadlineOut,
    EventOut,
    Health,
    OpenCase,
    RecordContact,
    RecordEvent,
    SetChild,
)
from api.transaction import in_transaction, transaction
from engine.ingest import Ingest
from models.access.actors import Actor
from models.access.keys import Client
from models.cases.reads import UnknownCase, case_deadlines, load_case, open_deadlines
from models.census.child import ChildDetails
from models.census.child_store import set_child
from models.fields import CASE_REF
from models.tables import Case, CaseEvent

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)
EVENTS_SHOWN = 200

CaseRef = Annotated[
    str,
    Path(min_length=1, max_length=CASE_REF.max_length, pattern=CASE_REF.pattern.pattern),
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="required on every write: printable ASCII, no spaces, at most 128 characters;"
        " the same key and body again answer as the first time, another body is refused (409)",
    ),
]


def _ingest(request: Request) -> Ingest:
    ingest: Ingest = request.app.state.ingest
    return ingest


def _refuse_future(request: Request, on: date, field: str = "event.on") -> None:
    today = _ingest(request).today()
    if on > today:
        raise ApiError(
            422,
            "refused",
            f"{field}: expected a date on or before today ({today.isoformat()})",
            field,
        )


def _own_case(session: Session, client: Client, case_ref: str) -> Case:
    case = load_case(session, case_ref)
    if case.authority != client.authority:
        raise UnknownCase(case_ref)  # 404: another council's references stay unknown
    return case


@router.post("/cases", status_code=201, response_model=Accepted, summary="open a case")
def open_case(
    body: OpenCase,
    request: Request,
    response: Response,
    client: Annotated[Client, Depends(recorder)],
    idempotency_key: IdempotencyKey = None,
) -> Accepted:
    def accept(session: Session) -> Accepted:
        key = checked_key(idempotency_key)
        _refuse_future(request, body.event.on)
        replay = claim(request, session, client, key, "open", body)
        accepted = _ingest(request).open(
            authority=client.authority,
            child_ref=body.child_ref,
            event=body.event.model_dump(),
            team=body.team,
            key=key,
            actor=Actor("api", client.label, body.recorded_by),
            session=session,
        )
        request.state.outcome = "opened"
        request.state.case_ref = accepted.case_ref  # the access log names the case it opened
        if accepted.duplicate or replay:
            response.headers["Idempotent-Replayed"] = "true"
        return Accepted(case=accepted.case_ref, seq=accepted.seq, event_type=body.event.type)

    return in_transaction(request, client, 201, accept)


@router.post(
    "/cases/{case_ref}/events",
    status_code=201,
    response_model=Accepted,
    summary="record an event on a case",
)
def record_event(
    case_ref: CaseRef,
    body: RecordEvent,
    request: Request,
    response: Response,
    client: Annotated[Client, Depends(recorder)],
    idempotency_key: IdempotencyKey = None,
) -> Accepted:
    route = f"record:{case_ref}"

    def accept(session: Session) -> Accepted:
        key = checked_key(idempotency_key)
        _refuse_future(request, body.event.on)
        replay = claim(request, session, client, key, route, body)
        accepted = _ingest(request).record(
            case_ref,
            body.event.model_dump(),
            key=key,
            actor=Actor("api", client.label, body.recorded_by),
            authority=client.authority,  # another council's case: 404, as no case at all
            session=session,
        )
        if accepted.duplicate or replay:
            response.headers["Idempotent-Replayed"] = "true"
        # the seq of the event this key recorded (a repeat answers with the first one's)
        return Accepted(case=accepted.case_ref, seq=accepted.seq, event_type=body.event.type)

    return in_transaction(request, client, 201, accept)


@router.put("/children", response_model=ChildSet, summary="set a child's census details")
def put_child(
    body: SetChild,
    request: Request,
    response: Response,
    client: Annotated[Client, Depends(recorder)],
    idempotency_key: IdempotencyKey = None,
) -> ChildSet:
    """The child's reference is in the body, never the path: paths reach proxy logs."""
    request.state.child_ref = body.child_ref

    def put(session: Session) -> ChildSet:
        key = checked_key(idempotency_key)
        details = ChildDetails.model_validate(body.details.model_dump())
        replay = claim(request, session, client, key, "child", body)
        set_child(session, authority=client.authority, child_ref=body.child_ref, details=details)
        if replay:
            response.headers["Idempotent-Replayed"] = "true"
        return ChildSet(authority=client.authority)

    return in_transaction(request, client, 200, put)


@router.post(
    "/contacts",
    status_code=201,
    response_model=ContactRecorded,
    summary="record a contact at the front door (not a case)",
)
def record_contact(
    body: RecordContact,
    request: Request,
    response: Response,
    client: Annotated[Client, Depends(recorder)],
    idempotency_key: IdempotencyKey = None,
) -> ContactRecorded:
    """The child's reference is in the body, never the path: paths reach proxy logs. A contact
    already recorded (the same child, day and source) is answered as recorded, replayed."""
    request.state.child_ref = body.child_ref

    def add(session: Session) -> ContactRecorded:
        key = checked_key(idempotency_key)
        _refuse_future(request, body.on, "on")
        replay = claim(request, session, client, key, "contact", body)
        created = _ingest(request).record_contact(
            authority=client.authority,
            child_ref=body.child_ref,
            on=body.on,
            source=body.source,
            session=session,
        )
        if replay or not created:
            response.headers["Idempotent-Replayed"] = "true"
        return ContactRecorded(authority=client.authority)

    return in_transaction(request, client, 201, add)


@router.get("/cases/{case_ref}", response_model=CaseOut, summary="read a case")
def read_case(
    case_ref: CaseRef, request: Request, client: Annotated[Client, Depends(reader)]
) -> CaseOut:
    today = _ingest(request).today()
    with transaction(request, client, 200) as session:
        case = _own_case(session, client, case_ref)
        deadlines = case_deadlines(session, case.id)
        events = list(
            session.exec(
                select(CaseEvent)
                .where(CaseEvent.case_id == case.id, CaseEvent.seq > case.last_seq - EVENTS_SHOWN)
                .order_by(col(CaseEvent.seq))
            )
        )
    return CaseOut(
        case=case.case_ref,
        authority=case.authority,
        team=case.team,
        stage=case.stage,
        referral_date=case.referral_date,
        re_referral=case.re_referral,
        deadlines=[
            DeadlineOut(
                key=d.key,
                kind=d.kind,
                due=d.due,
                status=d.status,
                met_on=d.met_on,
                overdue=d.status in ("open", "missed") and d.due < today,
                policy=d.policy_ref,
                explanation=d.explanation,
            )
            for d in deadlines
        ],
        events_total=case.last_seq,
        events=[
            EventOut(
                seq=e.seq,
                type=e.event_type,
                on=e.occurred_on,
                recorded_at=e.recorded_at,
                actor_kind=e.actor_kind,
                actor=e.actor,
                recorded_by=e.recorded_by,
            )
            for e in events
        ],
    )


@router.get("/deadlines", response_model=list[DeadlineItem], summary="list open deadlines")
def list_deadlines(
    request: Request,
    client: Annotated[Client, Depends(reader)],
    authority: Annotated[str | None, Query(max_length=64)] = None,
    team: Annotated[str | None, Query(max_length=64)] = None,
    overdue: bool = False,
    as_of: date | None = None,
) -> list[DeadlineItem]:
    """This key's authority only (another authority: 404); `overdue` judged on `as_of`."""
    day = as_of or _ingest(request).today()
    with transaction(request, client, 200) as session:
        if authority is not None and authority != client.authority:
            raise ApiError(
                404, "not_found", "authority: no such authority for this key", "authority"
            )
        rows = open_deadlines(session, authority=client.authority, due_by=day if overdue else None)
    return [
        DeadlineItem(
            case=case.case_ref,
            team=case.team,
            key=d.key,
            kind=d.kind,
            due=d.due,
            status=d.status,
            days_overdue=(day - d.due).days if d.due < day else 0,
            explanation=d.explanation,
        )
        for d, case in rows
        if (team is None or case.team == team) and (not overdue or d.due < day)
    ]


@router.get("/health", response_model=Health, summary="is the API up and its database reachable")
def health(request: Request) -> Health:
    with Session(request.app.state.engine) as session:
        session.connection().exec_driver_sql("SELECT 1")
    return Health(status="ok", database="ok")
