"""Policy resolution: which version is in force, what falls back to the national default, and the
counts a manager can check by hand (DESIGN.md, "Policies" and "What each clock counts from").

    book = load_policy_dir(Path("policies"))
    view = book.authority("warwickshire").on(date(2024, 12, 20))
    view.count(TimescaleKind.ASSESSMENT_COMPLETED, date(2024, 12, 20)).explanation
    # "20 working days from referral on 2024-12-20 under warwickshire v1, skipping 25 Dec ..."
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from calendars import Closure, Count, Nation, Unit, WorkingCalendar, get_calendar
from models.fields import shown
from models.policy_diff import diff_versions
from models.policy_loading import (
    PolicyError,
    load_policy_file,
    national_problems,
    validate_policy_file,
)
from models.policy_schema import (
    NATIONAL,
    Channel,
    EscalationStep,
    PolicyFile,
    PolicyVersion,
    Role,
    Timescale,
    prefix_problems,
)
from models.timescales import Anchor, CountedDue, PolicyTimeline, PolicyView, TimescaleKind

__all__ = [
    "AuthorityPolicy",
    "PolicyBook",
    "PolicyError",
    "PolicyFile",
    "PolicyVersion",
    "ResolvedPolicy",
    "ResolvedTimescale",
    "diff_versions",
    "load_policy_dir",
    "load_policy_file",
    "validate_policy_file",
]

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


@dataclass(frozen=True, slots=True)
class ResolvedTimescale:
    """One clock as it applies: the authority's own rule, or the national one it inherits."""

    kind: TimescaleKind
    amount: int
    unit: Unit
    counts_from: Anchor
    source: str  # the citation as the defining file wrote it
    inherited: bool
    defined_by: str  # "redbridge v1", or "national v1" when inherited

    @property
    def cited(self) -> str:
        return f"national default: {self.source}" if self.inherited else self.source


@dataclass(frozen=True, slots=True)
class ResolvedPolicy:
    """One authority's policy version in force on a day, national defaults filled in.

    Satisfies `models.timescales.PolicyView`.
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

    @property
    def policy_ref(self) -> str:
        return f"{self.authority} v{self.version}"

    @property
    def visit_default(self) -> ResolvedTimescale:
        """How often to visit where the plan sets no frequency."""
        return self.timescales[TimescaleKind.VISIT]

    @property
    def calendar(self) -> WorkingCalendar:
        return get_calendar(self.nation, self.closures)

    def has(self, kind: TimescaleKind) -> bool:
        return kind in self.timescales

    def count(self, kind: TimescaleKind, start: date) -> CountedDue:
        timescale = self.timescales[kind]
        counted = self._count(start, timescale.amount, timescale.unit)
        note = f" (national default, {timescale.defined_by})" if timescale.inherited else ""
        explanation = self._explain(counted, ANCHOR_WORDS[timescale.counts_from], note)
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
        return text


@dataclass(frozen=True, slots=True)
class AuthorityPolicy:
    """Every version of one authority's policy. Satisfies `models.timescales.PolicyTimeline`."""

    policy: PolicyFile
    national: PolicyFile

    @property
    def slug(self) -> str:
        return self.policy.authority

    @property
    def name(self) -> str:
        return self.policy.name

    @property
    def nation(self) -> Nation:
        return self.policy.nation

    @property
    def versions(self) -> tuple[PolicyVersion, ...]:
        return self.policy.versions

    def version(self, number: int) -> PolicyVersion:
        found = next((v for v in self.policy.versions if v.version == number), None)
        if found is None:
            known = ", ".join(f"v{v.version}" for v in self.policy.versions)
            raise PolicyError([f"{self.slug} has no version {number}; it has {known}"])
        return found

    def on(self, day: date) -> ResolvedPolicy:
        """The version in force on `day`, with the national version in force that day beneath."""
        version = self.policy.in_force(day)
        if version is None:
            spans = "; ".join(f"v{v.version} {v.span()}" for v in self.policy.versions)
            raise PolicyError(
                [f"{self.slug}: no policy version in force on {day.isoformat()} ({spans})"]
            )
        timescales = {
            kind: _resolved(kind, timescale, self.slug, version.version, inherited=False)
            for kind, timescale in version.timescales.items()
        }
        if version.national_default_applies:
            national = self.national.in_force(day)
            if national is None:
                raise PolicyError(
                    [f"{NATIONAL}: no version in force on {day.isoformat()} for {self.slug}"]
                )
            for kind in version.national_default_applies:
                if kind in national.timescales:
                    timescales[kind] = _resolved(
                        kind, national.timescales[kind], NATIONAL, national.version, inherited=True
                    )
        return ResolvedPolicy(
            authority=self.slug,
            name=self.policy.name,
            nation=self.policy.nation,
            version=version.version,
            effective_from=version.effective_from,
            effective_to=version.effective_to,
            source=version.source,
            roll_non_working_start=version.roll_non_working_start,
            closures=version.closure_days.to_calendar(),
            timescales={kind: timescales[kind] for kind in TimescaleKind if kind in timescales},
            escalation=version.escalation,
            channels=dict(version.channels),
            urgent=frozenset(version.urgent),
        )


def _resolved(
    kind: TimescaleKind, timescale: Timescale, slug: str, number: int, *, inherited: bool
) -> ResolvedTimescale:
    return ResolvedTimescale(
        kind=kind,
        amount=timescale.amount,
        unit=timescale.unit,
        counts_from=timescale.counts_from,
        source=timescale.source,
        inherited=inherited,
        defined_by=f"{slug} v{number}",
    )


@dataclass(frozen=True, slots=True)
class PolicyBook:
    """Every authority's policy plus the national default, loaded from one folder."""

    national: PolicyFile
    authorities: Mapping[str, PolicyFile]

    def slugs(self) -> tuple[str, ...]:
        """The authorities, sorted; the national default is not one of them."""
        return tuple(sorted(self.authorities))

    def authority(self, slug: str) -> AuthorityPolicy:
        if slug == NATIONAL:
            return AuthorityPolicy(self.national, self.national)
        if slug not in self.authorities:
            raise PolicyError(
                [f"unknown authority {shown(slug)}; known: {', '.join((*self.slugs(), NATIONAL))}"]
            )
        return AuthorityPolicy(self.authorities[slug], self.national)


def load_policy_dir(folder: Path) -> PolicyBook:
    """All `*.yaml` in `folder`; `national.yaml` is the default. Every problem in one error."""
    if not folder.is_dir():
        raise PolicyError([f"{folder}: expected a folder of policy files"])
    national_path = folder / f"{NATIONAL}.yaml"
    if not national_path.exists():
        raise PolicyError([f"{folder}: no {NATIONAL}.yaml, the default every authority inherits"])
    problems: list[str] = []
    loaded: dict[Path, PolicyFile] = {}
    for path in sorted(folder.glob("*.yaml")):
        try:
            loaded[path] = load_policy_file(path)
        except PolicyError as error:
            problems.extend(error.problems)
    problems.extend(prefix_problems({str(path): policy for path, policy in loaded.items()}))
    national = loaded.pop(national_path, None)
    if national is not None:
        for path, policy in loaded.items():
            problems.extend(national_problems(policy, national, path))
    if problems or national is None:
        raise PolicyError(problems)
    return PolicyBook(national, {policy.authority: policy for policy in loaded.values()})


if TYPE_CHECKING:
    # mypy proves the lifecycle can use these through its protocols
    def _conforms(
        view: ResolvedPolicy, timeline: AuthorityPolicy
    ) -> tuple[PolicyView, PolicyTimeline]:
        return view, timeline
