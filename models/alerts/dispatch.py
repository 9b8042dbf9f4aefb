"""The alert outbox: digests, dispatches and their sending marks, held alerts, the standing.

Exactly once (store.py has the rest): a dispatch (one immediate alert, or one recipient's digest
for one day) is created in the transaction that claims its alerts, under a unique key; it is
marked sent after the transport accepted it; a failure stays on the row, visible, with the next
attempt backed off.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from hashlib import sha1
from typing import Any

from sqlalchemy import func, update
from sqlalchemy import select as columns
from sqlmodel import Session, col, select

from models.alerts.bulk import insert_new, update_by_id
from models.tables import Alert, Dispatch, utcnow

ALERT = Alert.__table__  # type: ignore[attr-defined]
DISPATCH = Dispatch.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class DigestLine:
    id: uuid.UUID
    authority: str
    channel: str
    recipient: str
    role: str
    team: str | None
    case_ref: str
    headline: str
    rule: str
    link: str


def digest_alerts(session: Session, *, day: date) -> list[DigestLine]:
    """Digest alerts raised on or before `day` that no digest has carried yet (the partial index
    `ix_alert_undigested` holds exactly these)."""
    c = ALERT.c
    rows = session.execute(
        columns(
            c.id,
            c.authority,
            c.channel,
            c.recipient,
            c.role,
            c.team,
            c.case_ref,
            c.headline,
            c.rule,
            c.link,
        ).where(c.mode == "digest", c.dispatch_id.is_(None), c.raised_on <= day)  # fmt: skip
    ).all()  # grouped and ordered by the caller
    return [DigestLine(*row) for row in rows]


ALERT_NAMESPACE = uuid.UUID("2b8f3c1e-5d4a-4e6b-9c7d-1a2b3c4d5e6f")


_NAMESPACE_BYTES = ALERT_NAMESPACE.bytes
# uuid5's version (5) and variant (RFC 4122) bits, set over the first 16 bytes of the SHA-1
_VERSION_MASK = ~((0xF000 << 64) | (0xC000 << 48))
_VERSION_BITS = (5 << 76) | (0x8000 << 48)


def alert_id(key: str) -> uuid.UUID:
    """An alert's id is derived from its key, so the same alert raised twice is one row.

    Exactly `uuid.uuid5(ALERT_NAMESPACE, key)` (tests/notifications/test_alert_ids.py checks
    it), worked out without the namespace's bytes, the import and the checks uuid5 repeats on
    every call: a first pass over England's caseload derives 79,000 of them."""
    digest = sha1(_NAMESPACE_BYTES + key.encode()).digest()
    return uuid.UUID(int=(int.from_bytes(digest[:16]) & _VERSION_MASK) | _VERSION_BITS)


def digest_key(channel: str, recipient: str, authority: str, day: date) -> str:
    return f"digest:{channel}:{authority}/{recipient}:{day.isoformat()}"


class DigestsChanged(Exception):
    """Digests composed from lines that are no longer all waiting: nothing was written."""


def create_digests(
    session: Session,
    digests: Sequence[tuple[dict[str, Any], Sequence[uuid.UUID]]],
    *,
    exact: bool = False,
) -> int:
    """Each (dispatch row, the ids of the alerts it carries), in one transaction. A digest whose
    key exists (that day's was sent already) is skipped and its alerts wait for the next one;
    an alert another digest has claimed is left to it. Commits; returns the digests created.

    `exact`: the digests were composed from lines not read in this transaction (the monitor
    composes them from the alerts it has just written); unless every line's alert is still
    there and still waiting, nothing is written and DigestsChanged is raised."""
    created = insert_new(session, DISPATCH, [dispatch for dispatch, _ in digests])
    claims = [
        {"id": alert_id, "dispatch_id": dispatch["id"]}
        for dispatch, alert_ids in digests
        if dispatch["key"] in created
        for alert_id in alert_ids
    ]
    claimed = update_by_id(session, ALERT, claims, only_if_null="dispatch_id")
    if exact and claimed != len(claims):
        session.rollback()
        raise DigestsChanged(f"{len(claims) - claimed} of {len(claims)} lines no longer waiting")
    session.commit()
    return len(created)


def new_dispatch(
    *, key: str, authority: str, channel: str, recipient: str, subject: str, body: str
) -> dict[str, Any]:
    now = utcnow()
    return {
        "id": uuid.uuid4(),
        "key": key,
        "authority": authority,
        "channel": channel,
        "recipient": recipient,
        "subject": subject,
        "body": body,
        "created_at": now,
        "sent_at": None,
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": None,
    }


def pending_dispatches(session: Session, *, now: datetime, limit: int = 500) -> list[Dispatch]:
    return list(
        session.exec(
            select(Dispatch)
            .where(col(Dispatch.sent_at).is_(None), col(Dispatch.next_attempt_at) <= now)
            .order_by(col(Dispatch.created_at), col(Dispatch.key))
            .limit(limit)
        )
    )


def mark_sent(session: Session, dispatch_id: uuid.UUID, *, now: datetime) -> None:
    session.execute(
        update(Dispatch)
        .where(col(Dispatch.id) == dispatch_id)
        .values(sent_at=now, attempts=Dispatch.attempts + 1, last_error=None)
    )
    session.commit()


def mark_failed(
    session: Session, dispatch_id: uuid.UUID, *, now: datetime, error: str, backoff: timedelta
) -> None:
    session.execute(
        update(Dispatch)
        .where(col(Dispatch.id) == dispatch_id)
        .values(
            attempts=Dispatch.attempts + 1,
            last_error=error[:500],
            next_attempt_at=now + backoff,
        )
    )
    session.commit()


@dataclass(frozen=True, slots=True)
class HeldAlert:
    id: uuid.UUID
    authority: str
    finding: str
    level: int
    role: str
    notice: str
    recipient: str  # "nobody:<role>", or "no-teams-url:<team>" (notifications/raising.py)


def held_alerts(session: Session) -> list[HeldAlert]:
    """Alerts kept because their rung had nobody to tell (or its channel no destination), not
    yet released or lapsed."""
    c = ALERT.c
    rows = session.execute(
        columns(c.id, c.authority, c.finding, c.level, c.role, c.notice, c.recipient)
        .where(c.mode == "held")
        .order_by(c.finding, c.level)
    ).all()
    return [HeldAlert(*row) for row in rows]


def set_alert_modes(session: Session, modes: Mapping[uuid.UUID, str]) -> None:
    """Change held alerts' modes ("released", "lapsed"); the caller commits."""
    update_by_id(session, ALERT, [{"id": key, "mode": mode} for key, mode in modes.items()])


@dataclass(frozen=True, slots=True)
class Standing:
    """Where the alert outbox stands overall, whatever this pass did."""

    waiting: int  # messages not yet sent (failing ones included)
    failing: int  # of those, the ones whose last attempt failed
    held: int  # alerts kept because their rung has nobody to tell


def outbox_standing(session: Session) -> Standing:
    d, a = DISPATCH.c, ALERT.c
    waiting, failing = session.execute(
        columns(func.count(), func.count(d.last_error)).where(d.sent_at.is_(None))
    ).one()
    held = session.execute(columns(func.count()).where(a.mode == "held")).scalar_one()
    return Standing(int(waiting), int(failing), int(held))
