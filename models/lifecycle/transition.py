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
    CANCELLED = "cancelled"  # the case moved on before the due date passed: no longer owed
    # The due date had passed unmet when the case moved on (a newer meeting's copies, a
    # closure, a stage the clock does not apply to): a missed deadline stays missed, whatever
    # happens later (issue 19 point 5). Closed like a cancelled clock, counted as missed.
    UNMET = "unmet"


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
