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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, text, update
from sqlalchemy import select as columns
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from models.tables import Alert, Case, Deadline, Dispatch, Drift, Staff

OPEN_STATUSES = ("open", "missed")
_CHUNK = 1000


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
    deadlines = session.execute(
        columns(
            col(Deadline.id),
            col(Case.case_ref),
            col(Case.authority),
            col(Case.team),
            col(Case.worker_id),
            col(Case.flow_run_id),
            col(Deadline.key),
            col(Deadline.kind),
            col(Deadline.due),
            col(Deadline.status),
            col(Deadline.escalation_level),
            col(Deadline.reminder_level),
            col(Deadline.policy_ref),
            col(Deadline.explanation),
        )
        .join(Case, col(Case.id) == col(Deadline.case_id))
        .where(col(Deadline.status).in_(OPEN_STATUSES), col(Deadline.due) <= horizon)
    ).all()
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
    rows = [DueItem("deadline", *r) for r in deadlines]
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
    session: Session, *, marks: Sequence[Mark], alerts: Sequence[Alert], immediate: set[str]
) -> tuple[set[str], int]:
    """One transaction: the items' marks, their new alerts, and a dispatch for each immediate
    alert (key in `immediate`). Alerts whose key exists are skipped. (keys added, dispatches)"""
    _write_marks(session, marks)
    existing = _existing_keys(session, Alert, [a.key for a in alerts])
    added = [a for a in alerts if a.key not in existing]
    dispatches = 0
    for alert in added:
        if alert.key in immediate and alert.channel != "none":
            dispatch = Dispatch(
                key=f"alert:{alert.key}",
                authority=alert.authority,
                channel=alert.channel,
                recipient=alert.recipient,
                subject=alert.headline,
                body=alert.body,
            )
            session.add(dispatch)
            alert.dispatch_id = dispatch.id
            dispatches += 1
    if dispatches:
        session.flush()  # the dispatches first: alerts refer to them
    session.add_all(added)
    session.commit()
    return {a.key for a in added}, dispatches


def _write_marks(session: Session, marks: Sequence[Mark]) -> None:
    for source, table in (("deadline", Deadline), ("drift", Drift)):
        rows = [m for m in marks if m.source == source]
        if not rows:
            continue
        t = table.__table__  # type: ignore[union-attr]
        values: dict[str, Any] = {"escalation_level": bindparam("b_level")}
        if source == "deadline":
            values["reminder_level"] = bindparam("b_reminder")
            values["status"] = bindparam("b_status")
        statement = update(t).where(t.c.id == bindparam("b_id")).values(**values)
        params = [
            {
                "b_id": m.row_id,
                "b_level": m.escalation_level,
                "b_reminder": m.reminder_level,
                "b_status": m.status or "open",
            }
            for m in rows
        ]
        for start in range(0, len(params), _CHUNK):
            session.execute(statement, params[start : start + _CHUNK])


def _existing_keys(
    session: Session, table: type[Alert] | type[Dispatch], keys: list[str]
) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        found.update(session.exec(select(table.key).where(col(table.key).in_(chunk))))
    return found


def digest_alerts(session: Session, *, day: date) -> list[Alert]:
    """Digest alerts raised on or before `day` that no digest has carried yet."""
    return list(
        session.exec(
            select(Alert)
            .where(Alert.mode == "digest", col(Alert.dispatch_id).is_(None))
            .where(col(Alert.raised_on) <= day, Alert.channel != "none")
            .order_by(col(Alert.recipient), col(Alert.case_ref), col(Alert.key))
        )
    )


def digest_key(channel: str, recipient: str, authority: str, day: date) -> str:
    return f"digest:{channel}:{authority}/{recipient}:{day.isoformat()}"


def create_digest(
    session: Session,
    *,
    key: str,
    authority: str,
    channel: str,
    recipient: str,
    subject: str,
    body: str,
    alerts: Sequence[Alert],
) -> bool:
    """Claim `alerts` for one digest dispatch; False if that day's digest already exists (the
    alerts then wait for the next one). Commits."""
    if session.exec(select(Dispatch.id).where(Dispatch.key == key)).first() is not None:
        return False
    dispatch = Dispatch(
        key=key,
        authority=authority,
        channel=channel,
        recipient=recipient,
        subject=subject,
        body=body,
    )
    session.add(dispatch)
    session.flush()
    ids = [a.id for a in alerts]
    for start in range(0, len(ids), _CHUNK):
        session.execute(
            update(Alert)
            .where(col(Alert.id).in_(ids[start : start + _CHUNK]), col(Alert.dispatch_id).is_(None))
            .values(dispatch_id=dispatch.id)
        )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return True


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


def active_staff(session: Session, authority: str) -> list[Staff]:
    return list(session.exec(select(Staff).where(Staff.authority == authority, col(Staff.active))))
