"""The monitor's reads and writes: the monitor lock, due items by index, findings and marks.

Exactly once is built from three things, the first here and the others in dispatch.py:
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
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy import select as columns
from sqlmodel import Session, col

from models.alerts.bulk import insert_new, select_by_ids, update_by_id
from models.tables import Alert, Case, Deadline, Dispatch, Drift

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

    Both read through an index on the date of the unclosed rows: the cost follows the number of
    due items, not the number of cases or deadlines. A deadline is unclosed (`closed_seq IS
    NULL`) exactly while its status is open or missed: the event that closes it sets both.
    """
    # Deadlines first, then their cases by id: joined in one query the planner counts the closed
    # history's past due dates too, and scans every case to hash them.
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        # The planner takes the unclosed deadlines' due dates to be spread like the closed ones'
        # (all past): over England's caseload it expects 577,876 rows for 27,813 and reads the
        # whole table (0.76 s) instead of the unclosed index (0.23 s); at that estimate it also
        # compiles the query (JIT, 12-15 ms). Both off for this one statement.
        session.execute(text("SET LOCAL enable_seqscan = off"))
        session.execute(text("SET LOCAL jit = off"))
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
        ).where(col(Deadline.closed_seq).is_(None), col(Deadline.due) <= horizon)
    ).all()
    if postgres:
        session.execute(text("RESET enable_seqscan"))
        session.execute(text("RESET jit"))
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
