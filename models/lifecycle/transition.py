"""What `apply` returns: the new state, the deadline rows to write, and notes for the timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from models.lifecycle.state import CaseState
from models.policy.timescales import TimescaleKind


class DeadlineAction(StrEnum):
    OPEN = "open"
    MET = "met"  # answered on or before its due date
    MET_LATE = "met_late"  # answered after it
    CANCELLED = "cancelled"  # the case moved somewhere the clock no longer applies


@dataclass(frozen=True, slots=True)
class DeadlineChange:
    action: DeadlineAction
    key: str
    kind: TimescaleKind
    start: date  # the day the clock counts from
    due: date
    on: date  # the date of the event that opened, met or cancelled it
    policy_ref: str
    explanation: str | None = None  # opens: "why is this due that day?" (from CountedDue)
    source: str | None = None  # opens: the rule's citation


@dataclass(frozen=True, slots=True)
class Transition:
    state: CaseState
    changes: tuple[DeadlineChange, ...]
    notes: tuple[str, ...]
