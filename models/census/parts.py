"""The parts of a census episode (a `CINdetails` block), each keeping the sequence number of the
event that gave it, so that a failed DfE rule can name the event to correct."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

# a case's dated allocation read beside its log (models/census/source.py `allocations`): an entry
# of this type, sequence 0, not an event of the lifecycle's (Annex A's "allocated at the time")
ALLOCATED = "case_allocated"


@dataclass(frozen=True, slots=True)
class LogEntry:
    seq: int
    type: str
    on: date
    data: Mapping[str, Any]


@dataclass(slots=True)
class Assessment:
    start: date
    start_seq: int
    authorised: date | None = None
    completed_seq: int | None = None
    factors: tuple[str, ...] = ()


@dataclass(slots=True)
class PlanDates:
    start: date
    start_seq: int
    end: date | None = None
    end_seq: int | None = None


@dataclass(slots=True)
class Section47:
    start: date
    start_seq: int
    icpc: date | None = None
    icpc_seq: int | None = None
    not_required: bool = False
    concluded_seq: int | None = None

    @property
    def outstanding(self) -> bool:
        return self.icpc is None and not self.not_required


@dataclass(slots=True)
class CpPlan:
    start: date
    start_seq: int
    initial_category: str | None
    latest_category: str | None
    previous: int
    reviews: list[tuple[date, int]] = field(default_factory=list)
    end: date | None = None
    end_seq: int | None = None


@dataclass(slots=True)
class Episode:
    case_ref: str
    referral_date: date
    referral_seq: int
    source: str
    primary_need: str | None
    referral_nfa: bool = False
    decision_seq: int | None = None
    closed_on: date | None = None
    closure_reason: str | None = None
    closure_seq: int | None = None
    initial_cpc: date | None = None
    initial_cpc_seq: int | None = None
    assessments: list[Assessment] = field(default_factory=list)
    plans: list[PlanDates] = field(default_factory=list)
    s47s: list[Section47] = field(default_factory=list)
    cp_plans: list[CpPlan] = field(default_factory=list)

    def missing(self) -> list[str]:
        """Data the return requires that the log does not hold, each with the event to correct."""
        return [
            f"{self.case_ref} event {cp.start_seq} (icpc_held): no category of abuse "
            "(record --category NEG|PHY|SAB|EMO|MUL)"
            for cp in self.cp_plans
            if cp.initial_category is None
        ]
