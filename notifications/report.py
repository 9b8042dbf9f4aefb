"""What a monitor pass is configured with and what it reports (shared by the pass's modules)."""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from models.alerts.store import DueItem

BATCH = 5000


@dataclass(frozen=True)
class MonitorConfig:
    ui_url: str
    smtp_url: str | None
    soon_working_days: int = 2
    retry_seconds: float = 60.0
    digests: bool = True  # compose the day's digests in this pass
    deliver: bool = True  # send what is waiting
    batch: int = BATCH  # decisions committed per transaction
    # messages sent at once (each on its own connection); a crash between a server accepting a
    # message and the engine recording it re-sends it, so more threads widen that gap
    send_threads: int = 1
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    instance: str = ""  # the engine instance's id (its artifact keys); run_pass fills it in


@dataclass(frozen=True, slots=True)
class Raised:
    """One alert raised, for the report, the Prefect events and the demo's summary."""

    authority: str
    team: str | None
    case_ref: str
    key: str
    kind: str
    notice: str
    level: int
    role: str
    channel: str
    due: date


@dataclass
class TeamOverdue:
    overdue: int = 0
    escalated_past_team_manager: int = 0
    drift: int = 0
    oldest_since: date | None = None


@dataclass
class PassReport:
    as_of: date
    due_items: int = 0
    decisions: int = 0
    raised: list[Raised] = field(default_factory=list)
    newly_overdue: list[DueItem] = field(default_factory=list)
    unrouted: int = 0
    released: int = 0  # held alerts told now that somebody holds the role
    immediate: int = 0
    digests: int = 0
    sent: int = 0
    failed: int = 0
    sent_by: Counter[tuple[str, str]] = field(default_factory=Counter)  # (channel, recipient)
    # overdue work by (authority, team): the table the flow publishes
    overdue: dict[tuple[str, str], TeamOverdue] = field(default_factory=dict)
    # every case with a deadline past due, and its flow run: what the runs list must show
    overdue_cases: dict[str, uuid.UUID | None] = field(default_factory=dict)

    def changed_cases(self) -> set[str]:
        """Cases whose overdue work changed in this pass: newly overdue, or a rung told."""
        return {i.case_ref for i in self.newly_overdue} | {
            r.case_ref for r in self.raised if r.level >= 1
        }

    def escalations(self) -> list[Raised]:
        return [r for r in self.raised if r.level >= 1]

    def summary(self) -> dict[str, int]:
        return {
            "due_items": self.due_items,
            "alerts_raised": len(self.raised),
            "newly_overdue": len(self.newly_overdue),
            "escalations": len(self.escalations()),
            "unrouted": self.unrouted,
            "held_released": self.released,
            "digests": self.digests,
            "sent": self.sent,
            "failed": self.failed,
        }
