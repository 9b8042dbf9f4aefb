"""The monitor's reads and writes: due items by index, marks, the alert outbox and its dispatches.

Exactly once is built from three things here:
- an alert's `key` is (finding, level, recipient) and unique, and the item's marks (missed,
  escalation level, reminder level) commit in the same transaction as its alerts, so a pass that
  dies halfway leaves either both or neither, and the next pass does not raise them again;
- a dispatch (one immediate alert, or one recipient's digest for one day) is created in the
  transaction that claims its alerts, under a unique key;
- a dispatch is marked sent after the transport accepted it; a failure stays on the row, visible,
  with the next attempt backed off.
"""

from __future__ import annotations

import fcntl
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, text, update
from sqlalchemy import select as columns
from sqlmodel import Session, col, select

from models.alerts.bulk import insert_new, select_by_ids, update_by_id
from models.staff.roster import Person
from models.tables import Alert, Case, Deadline, Dispatch, Drift, Staff, utcnow

OPEN_STATUSES = ("open", "missed")
CASE = Case.__table__  # type: ignore[attr-defined]
ALERT = Alert.__table__  # type: ignore[attr-defined]
DISPATCH = Dispatch.__table__  # type: ignore[attr-defined]


class MonitorBusy(RuntimeError):
    """Another monitor pass holds the lock."""


@contextmanager
def monitor_lock(engine: Engine) -> Iterator[None]:
    """One pass at a time per case database; the lock dies with the process that holds it.

    PostgreSQL: a session advisory lock. SQLite: an exclusive `flock` on a file beside the
    database.
    """
    url = engine.url
    if url.get_backend_name() == "postgresql":
        with engine.connect() as conn:
            got = conn.execute(text("SELECT pg_try_advisory_lock(724411)")).scalar()
            conn.commit()
            if not got:
                raise MonitorBusy("another deadline monitor pass is running")
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(724411)"))
                conn.commit()
        return
    path = Path(f"{url.database}.monitor.lock") if url.database else None
    if path is None:
        yield
        return
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as busy:
            raise MonitorBusy("another deadline monitor pass is running") from busy
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@dataclass(frozen=True, slots=True)
class DueItem:
    """One open deadline (or open drift finding) the monitor's query returned, with its case."""

    source: str  # "deadline" or "drift"
    row_id: uuid.UUID
    case_ref: str
    authority: str
    team: str | None
    worker_id: str | None
    flow_run_id: uuid.UUID | None
    key: str  # the deadline or drift key, stable for the life of the case
    kind: str
    due: date  # a drift finding's `since`
    status: str
    escalation_level: int
    reminder_level: int
    policy_ref: str
    explanation: str

    @property
    def finding(self) -> str:
        middle = "drift/" if self.source == "drift" else ""
        return f"{self.case_ref}/{middle}{self.key}"


def due_items(session: Session, *, as_of: date, horizon: date) -> list[DueItem]:
    """Open deadlines due on or before `horizon`, and open drift begun on or before `as_of`.

    Both read through an index on (status, date): the cost follows the number of due items, not
    the number of cases or deadlines.
    """
    # Deadlines first, then their cases by id: joined in one query the planner counts the closed
    # history's past due dates too, and scans every case to hash them.
    deadlines = session.execute(
        columns(
            col(Deadline.id),
            col(Deadline.case_id),
            col(Deadline.key),
            col(Deadline.kind),
            col(Deadline.due),
            col(Deadline.status),
            col(Deadline.escalation_level),
            col(Deadline.reminder_level),
            col(Deadline.policy_ref),
            col(Deadline.explanation),
        ).where(col(Deadline.status).in_(OPEN_STATUSES), col(Deadline.due) <= horizon)
    ).all()
    case_ids = list({row[1] for row in deadlines})
    cases = {
        row[0]: row[1:]
        for row in select_by_ids(
            session,
            CASE,
            ("id", "case_ref", "authority", "team", "worker_id", "flow_run_id"),
            case_ids,
        )
    }
    drift = session.execute(
        columns(
            col(Drift.id),
            col(Case.case_ref),
            col(Case.authority),
            col(Case.team),
            col(Case.worker_id),
            col(Case.flow_run_id),
            col(Drift.key),
            col(Drift.kind),
            col(Drift.since),
            col(Drift.status),
            col(Drift.escalation_level),
            col(Drift.explanation),
        )
        .join(Case, col(Case.id) == col(Drift.case_id))
        .where(col(Drift.status) == "open", col(Drift.since) <= as_of)
    ).all()
    rows = [DueItem("deadline", r[0], *cases[r[1]], *r[2:]) for r in deadlines]
    for r in drift:
        (row_id, case_ref, authority, team, worker, run, key, kind, since, status, level, why) = r
        rows.append(
            DueItem(
                "drift",
                row_id,
                case_ref,
                authority,
                team,
                worker,
                run,
                key,
                kind,
                since,
                status,
                level,
                0,
                "drift rule",
                why,
            )  # fmt: skip
        )
    return rows


@dataclass(frozen=True, slots=True)
class Mark:
    source: str
    row_id: uuid.UUID
    status: str | None  # "missed" to mark, None to leave
    escalation_level: int
    reminder_level: int


def record_findings(
    session: Session,
    *,
    marks: Sequence[Mark],
    alerts: Sequence[dict[str, Any]],
    dispatches: Sequence[dict[str, Any]],
) -> set[str]:
    """One transaction: the items' marks, their alerts and the immediate alerts' dispatches (each
    alert row's `dispatch_id` names its dispatch, or is None). Rows whose key exists are skipped;
    returns the alert keys added. Commits."""
    _write_marks(session, marks)
    insert_new(session, DISPATCH, dispatches)  # first: alerts refer to them
    added_ids = insert_new(session, ALERT, alerts, key="id")
    session.commit()
    return {alert["key"] for alert in alerts if alert["id"] in added_ids}


def _write_marks(session: Session, marks: Sequence[Mark]) -> None:
    deadlines = [
        {
            "id": m.row_id,
            "status": m.status or "open",
            "escalation_level": m.escalation_level,
            "reminder_level": m.reminder_level,
        }
        for m in marks
        if m.source == "deadline"
    ]
    drift = [
        {"id": m.row_id, "escalation_level": m.escalation_level}
        for m in marks
        if m.source == "drift"
    ]
    update_by_id(session, Deadline.__table__, deadlines)  # type: ignore[attr-defined]
    update_by_id(session, Drift.__table__, drift)  # type: ignore[attr-defined]


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


def alert_id(key: str) -> uuid.UUID:
    """An alert's id is derived from its key, so the same alert raised twice is one row."""
    return uuid.uuid5(ALERT_NAMESPACE, key)


def digest_key(channel: str, recipient: str, authority: str, day: date) -> str:
    return f"digest:{channel}:{authority}/{recipient}:{day.isoformat()}"


def create_digests(
    session: Session, digests: Sequence[tuple[dict[str, Any], Sequence[uuid.UUID]]]
) -> int:
    """Each (dispatch row, the ids of the alerts it carries), in one transaction. A digest whose
    key exists (that day's was sent already) is skipped and its alerts wait for the next one;
    an alert another digest has claimed is left to it. Commits; returns the digests created."""
    created = insert_new(session, DISPATCH, [dispatch for dispatch, _ in digests])
    claims = [
        {"id": alert_id, "dispatch_id": dispatch["id"]}
        for dispatch, alert_ids in digests
        if dispatch["key"] in created
        for alert_id in alert_ids
    ]
    update_by_id(session, ALERT, claims, only_if_null="dispatch_id")
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


def staff_email(session: Session, authority: str, staff_id: str) -> str | None:
    row = session.get(Staff, (authority, staff_id))
    return row.email if row is not None and row.active else None


def active_staff(session: Session, authority: str) -> list[Person]:
    rows = session.execute(
        columns(col(Staff.staff_id), col(Staff.role), col(Staff.team), col(Staff.manager_id)).where(
            col(Staff.authority) == authority, col(Staff.active)
        )
    ).all()
    return [Person(*row) for row in rows]


@dataclass(frozen=True, slots=True)
class HeldAlert:
    id: uuid.UUID
    authority: str
    finding: str
    level: int
    role: str
    notice: str


def held_alerts(session: Session) -> list[HeldAlert]:
    """Alerts kept because their rung had nobody to tell, not yet released or lapsed."""
    c = ALERT.c
    rows = session.execute(
        columns(c.id, c.authority, c.finding, c.level, c.role, c.notice)
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
