"""One authority's policy as it applies on a day: each clock resolved to its own rule or the one it
inherits, labelled with whose rule it is, and the counts a manager can check by hand. Built by
`models.policy.book.AuthorityPolicy.on`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from calendars import Closure, Count, Nation, Unit, WorkingCalendar, get_calendar
from models.policy.parts import Channel, EscalationStep, Role
from models.policy.timescales import Anchor, CountedDue, PracticeRule, TimescaleKind

# How each anchor reads in an explanation: "15 working days from plan decision on ..."
ANCHOR_WORDS: dict[Anchor, str] = {
    Anchor.REFERRAL: "referral",
    Anchor.INITIAL_HOME_VISIT: "initial home visit",
    Anchor.PLAN_DECISION: "plan decision",
    Anchor.CIN_MEETING: "CIN meeting",
    Anchor.PLAN_START: "plan start",
    Anchor.PREVIOUS_REVIEW: "previous review",
    Anchor.PREVIOUS_VISIT: "previous visit",
    Anchor.STEP_DOWN_PANEL_REQUESTED: "step-down panel request",
    Anchor.STRATEGY_DISCUSSION: "strategy discussion",
    Anchor.ICPC: "initial child protection conference",
    Anchor.PREVIOUS_CP_REVIEW: "previous child protection review",
    Anchor.RESIDENT: "family becoming resident",
    Anchor.ESCALATION: "escalation",
    Anchor.CONSENT_REFUSED: "consent refused or withdrawn",
}

_UNIT_WORDS: dict[Unit, tuple[str, str]] = {
    Unit.WORKING_DAYS: ("working day", "working days"),
    Unit.DAYS: ("day", "days"),
    Unit.WEEKS: ("week", "weeks"),
    Unit.MONTHS: ("month", "months"),
}


def quantity(amount: int, unit: Unit) -> str:
    singular, plural = _UNIT_WORDS[unit]
    return f"{amount} {singular if amount == 1 else plural}"


STATUTORY = "statutory"  # Working Together, from national.yaml
LOCAL = "local"  # the authority's own document, with its seed citation
ENGINE_DEFAULT = "engine default"  # engine-defaults.yaml: no document sets it


@dataclass(frozen=True, slots=True)
class ResolvedTimescale:
    """One clock as it applies: the authority's own rule, or the one it inherits."""

    kind: TimescaleKind
    amount: int
    unit: Unit
    counts_from: Anchor
    source: str  # the citation (or, for an engine default, the reason) as its file wrote it
    inherited: bool
    defined_by: str  # "redbridge v1", or "national v1" / "engine-defaults v1" when inherited
    provenance: str = LOCAL  # statutory, local or engine default

    @property
    def cited(self) -> str:
        return f"{self.provenance}: {self.source}"


@dataclass(frozen=True, slots=True)
class Labelled:
    """A setting with where it comes from: "engine default: <reason>" or "local: <source>"."""

    provenance: str
    reason: str

    def __str__(self) -> str:
        return f"{self.provenance}: {self.reason}"


@dataclass(frozen=True, slots=True)
class ResolvedPolicy:
    """One authority's policy version in force on a day, national defaults filled in.

    Satisfies `models.policy.timescales.PolicyView`.
    """

    authority: str
    name: str
    nation: Nation
    version: int
    effective_from: date
    effective_to: date | None
    source: str
    roll_non_working_start: bool
    closures: tuple[Closure, ...]
    timescales: Mapping[TimescaleKind, ResolvedTimescale]
    escalation: tuple[EscalationStep, ...]
    channels: Mapping[Role, tuple[Channel, ...]]
    urgent: frozenset[TimescaleKind]
    continue_streak: int = 3
    # where the ladder, channels, urgent kinds and drift rule come from
    labels: Mapping[str, Labelled] = field(default_factory=dict)
    no_clock: tuple[TimescaleKind, ...] = ()
    assumed_from: date | None = None  # the rules are assumed to apply before effective_from
    rules: Mapping[PracticeRule, str] = field(default_factory=dict)  # rule -> its citation
    day: date | None = None  # the day resolved (an assumed day says so in explanations)

    @property
    def policy_ref(self) -> str:
        return f"{self.authority} v{self.version}"

    @property
    def assumed(self) -> bool:
        return self.day is not None and self.day < self.effective_from

    @property
    def visit_default(self) -> ResolvedTimescale | None:
        """How often to visit where the plan sets no frequency: only where a council opts in."""
        return self.timescales.get(TimescaleKind.VISIT)

    @property
    def calendar(self) -> WorkingCalendar:
        return get_calendar(self.nation, self.closures)

    def has(self, kind: TimescaleKind) -> bool:
        return kind in self.timescales

    def rule(self, rule: PracticeRule) -> str | None:
        return self.rules.get(rule)

    def count(self, kind: TimescaleKind, start: date, *, anchor: str | None = None) -> CountedDue:
        """`anchor` names the day counted from when it is not the timescale's own anchor (a
        Warwickshire plan agreed with no initial home visit recorded counts from its decision)."""
        timescale = self.timescales[kind]
        counted = self._count(start, timescale.amount, timescale.unit)
        note = f" ({timescale.provenance}, {timescale.defined_by})" if timescale.inherited else ""
        what = anchor or ANCHOR_WORDS[timescale.counts_from]
        explanation = self._explain(counted, what, note)
        return CountedDue(counted.due, explanation, self.policy_ref, timescale.cited)

    def count_custom(self, amount: int, unit: Unit, start: date, what: str) -> CountedDue:
        counted = self._count(start, amount, unit)
        explanation = self._explain(counted, what, " (set for this case)")
        return CountedDue(counted.due, explanation, self.policy_ref, f"set for this case: {what}")

    def escalation_reached(self, working_days_overdue: int) -> tuple[EscalationStep, ...]:
        """The rungs to have told once work is this many working days overdue."""
        return tuple(
            step
            for step in self.escalation
            if working_days_overdue >= step.after_working_days_overdue
        )

    def _count(self, start: date, amount: int, unit: Unit) -> Count:
        return self.calendar.count(start, amount, unit, roll_forward=self.roll_non_working_start)

    def _explain(self, counted: Count, what: str, note: str) -> str:
        text = (
            f"{quantity(counted.amount, counted.unit)} from {what} on "
            f"{counted.start.isoformat()} under {self.policy_ref}{note}"
        )
        if counted.counted_from != counted.start:
            text += f", counted from {counted.counted_from.isoformat()} (the next working day)"
        skipped = counted.skipped_text()
        if skipped:
            text += f", skipping {skipped}"
        if counted.clamped:
            text += " (clamped to month end)"
        if counted.start < self.effective_from:
            text += (
                f"; assumed: {self.policy_ref} dates from {self.effective_from.isoformat()} and "
                f"is assumed to apply from {_iso(self.assumed_from)}"
            )
        return text


def _iso(day: date | None) -> str:
    return day.isoformat() if day else "its start"
