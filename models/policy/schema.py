"""The policy file format: one authority's YAML, validated (DESIGN.md, "Policies").

Only the shape and the rules one file can break live here. Which version is in force on a day, and
what falls back to the national default, is `models.policy.book`.

A rule spanning several fields reports every breach as a line `field.path: expected ...; got ...`
relative to the model it sits on; `models.policy.loading` prefixes the model's own position.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

from calendars.types import AnnualClosure, Closure, Nation, OneOffClosure, Unit
from models.fields import POLICY_TEXT_MAX
from models.policy.timescales import ALLOWED_ANCHORS, Anchor, TimescaleKind

NATIONAL = "national"  # the slug (and file stem) of the statutory national rules
ENGINE_DEFAULTS = "engine-defaults"  # the engine's own defaults: no document sets them
SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
RULE_ERROR = "policy_rule"  # pydantic error type of the cross-field rules below

Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=POLICY_TEXT_MAX)
]
# A case reference is PREFIX-000123; the prefix is unique across the policy folder (case refs are
# unique), and an authority may set its own when the one made from its slug would collide.
CASE_PREFIX_PATTERN = r"^[A-Z][A-Z0-9]{1,7}$"
# ENGINE DEFAULT: no clock in the seeds or Working Together runs past a year (the longest is
# "at most 6 months" between reviews, 003 s5), so a timescale of more is a typing error, and one
# of 10000 would put every due date past the calendar's end (2040-12-31). Zero is never meant:
# "within 0 working days" would make a next-day decision late.
MAX_AMOUNT = {
    Unit.WORKING_DAYS: 260,
    Unit.DAYS: 366,
    Unit.WEEKS: 52,
    Unit.MONTHS: 12,
}
MonthDay = Annotated[str, StringConstraints(pattern=r"^\d{2}-\d{2}$")]


class Role(StrEnum):
    """Who an alert can go to, lowest rung first."""

    WORKER = "worker"
    TEAM_MANAGER = "team_manager"
    SERVICE_MANAGER = "service_manager"
    HEAD_OF_SERVICE = "head_of_service"


class Channel(StrEnum):
    """How a role is told; the Apprise URLs behind each come from the environment, never a file."""

    EMAIL = "email"
    TEAMS = "teams"


class _Strict(BaseModel):
    # a misspelt key must fail loudly, or a council's rule would silently fall back to a default
    model_config = ConfigDict(extra="forbid", frozen=True)


def _refuse(problems: list[str]) -> None:
    if problems:
        raise PydanticCustomError(RULE_ERROR, "{problems}", {"problems": "\n".join(problems)})


class Timescale(_Strict):
    amount: Annotated[StrictInt, Field(ge=1)]
    unit: Unit
    counts_from: Anchor
    source: Text

    @model_validator(mode="after")
    def _within_a_year(self) -> Timescale:
        most = MAX_AMOUNT[self.unit]
        if self.amount > most:
            _refuse(
                [
                    f"amount: expected 1 to {most} {self.unit.value} (engine default: no "
                    f"timescale runs past a year); got {self.amount}"
                ]
            )
        return self

    def describe(self) -> str:
        return f"{self.amount} {self.unit.value} ({self.source})"


class OneOffClosureDay(_Strict):
    day: date = Field(alias="date")
    name: Text

    def to_calendar(self) -> OneOffClosure:
        return OneOffClosure(self.day, self.name)


class AnnualClosurePeriod(_Strict):
    """Inclusive month-day range repeated every year; `from: "12-24", to: "01-02"` wraps."""

    start: MonthDay = Field(alias="from")
    end: MonthDay = Field(alias="to")
    name: Text

    @model_validator(mode="after")
    def _real_days(self) -> AnnualClosurePeriod:
        problems = []
        for field, text in (("from", self.start), ("to", self.end)):
            month, day = (int(part) for part in text.split("-"))
            try:
                # 2000 is a leap year, so 02-29 is accepted as a month-day
                date(2000, month, day)
            except ValueError:
                problems.append(f"{field}: expected a real month-day MM-DD; got {text!r}")
        _refuse(problems)
        return self

    def to_calendar(self) -> AnnualClosure:
        (start_month, start_day), (end_month, end_day) = (
            (int(part) for part in text.split("-")) for text in (self.start, self.end)
        )
        return AnnualClosure(start_month, start_day, end_month, end_day, self.name)


class ClosureDays(_Strict):
    one_off: tuple[OneOffClosureDay, ...] = ()
    annual: tuple[AnnualClosurePeriod, ...] = ()

    def to_calendar(self) -> tuple[Closure, ...]:
        days: list[Closure] = [c.to_calendar() for c in self.one_off]
        days.extend(c.to_calendar() for c in self.annual)
        return tuple(days)


class EscalationStep(_Strict):
    role: Role
    after_working_days_overdue: Annotated[StrictInt, Field(ge=0, le=260)]


class DriftRule(_Strict):
    continues_in_a_row: Annotated[StrictInt, Field(ge=2)]
    reason: Text


class PolicyVersion(_Strict):
    """One version. Each clock is set here (`timescales`: local, with its seed citation), taken
    from the statutory national rules (`national_default_applies`), taken from the engine's own
    defaults (`engine_default_applies`), or has no clock (`no_clock`). The escalation ladder,
    channels, urgent kinds and drift rule left out are the engine's defaults.
    """

    version: Annotated[StrictInt, Field(ge=1)]
    effective_from: date
    effective_to: date | None = None  # inclusive; None = open-ended
    # the document's rules are assumed to have applied from this earlier day (history imports)
    assumed_from: date | None = None
    source: Text
    roll_non_working_start: StrictBool
    closure_days: ClosureDays = ClosureDays()
    timescales: dict[TimescaleKind, Timescale]
    national_default_applies: tuple[TimescaleKind, ...] = ()
    engine_default_applies: tuple[TimescaleKind, ...] = ()
    no_clock: tuple[TimescaleKind, ...] = ()
    escalation: tuple[EscalationStep, ...] | None = None  # None: the engine default
    channels: dict[Role, tuple[Channel, ...]] | None = None
    urgent: tuple[TimescaleKind, ...] | None = None
    drift: DriftRule | None = None
    # engine-defaults.yaml only: why the engine chose its escalation, channels and urgent kinds
    reasons: dict[str, Text] = {}

    @property
    def starts(self) -> date:
        """The first day the version counts: its document's date, or the assumed earlier one."""
        return self.assumed_from or self.effective_from

    def covers(self, day: date) -> bool:
        return self.starts <= day and (self.effective_to is None or day <= self.effective_to)

    def span(self) -> str:
        start = self.effective_from.isoformat()
        if self.assumed_from is not None:
            start = f"{self.assumed_from.isoformat()} (assumed; document {start})"
        return f"{start} to {_end_text(self.effective_to)}"

    @model_validator(mode="after")
    def _consistent(self) -> PolicyVersion:
        problems: list[str] = []
        if self.effective_to is not None and self.effective_to < self.effective_from:
            problems.append(
                f"effective_to: expected on or after effective_from "
                f"{self.effective_from.isoformat()}; got {self.effective_to.isoformat()}"
            )
        if self.assumed_from is not None and self.assumed_from > self.effective_from:
            problems.append(
                f"assumed_from: expected on or before effective_from "
                f"{self.effective_from.isoformat()}; got {self.assumed_from.isoformat()}"
            )
        problems += _anchor_problems(self.timescales)
        problems += _coverage_problems(
            self.timescales,
            {
                "national_default_applies": self.national_default_applies,
                "engine_default_applies": self.engine_default_applies,
                "no_clock": self.no_clock,
            },
        )
        problems += _duplicates("urgent", self.urgent or ())
        problems += _escalation_problems(self.escalation or (), self.channels or {})
        _refuse(problems)
        return self


class PolicyFile(_Strict):
    authority: Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=64)]
    name: Text
    nation: Nation
    # the DfE's three-digit LA number, the census return's LEA (DfE "LA codes"); None = not set
    dfe_la_code: Annotated[str, StringConstraints(pattern=r"^\d{3}$")] | None = None
    case_prefix: Annotated[str, StringConstraints(pattern=CASE_PREFIX_PATTERN)] | None = None
    versions: tuple[PolicyVersion, ...] = Field(min_length=1)
    # children aged 0-17 living in the authority, by year (mid-year estimate): the report's
    # rates per 10,000 children use the latest year on or before the period's end
    child_population: dict[
        Annotated[StrictInt, Field(ge=1900, le=2100)], Annotated[StrictInt, Field(ge=0)]
    ] = {}

    def population_for(self, year: int) -> tuple[int, int] | None:
        """(year, children) of the latest estimate on or before `year`, if there is one."""
        years = [y for y in self.child_population if y <= year]
        return (max(years), self.child_population[max(years)]) if years else None

    @property
    def is_national(self) -> bool:
        return self.authority == NATIONAL

    @property
    def prefix(self) -> str:
        """The case reference prefix: the file's own, else made from the slug."""
        return self.case_prefix or prefix_from_slug(self.authority)

    def in_force(self, day: date) -> PolicyVersion | None:
        return next((v for v in self.versions if v.covers(day)), None)

    @model_validator(mode="after")
    def _versions_in_order(self) -> PolicyFile:
        problems: list[str] = []
        for i, version in enumerate(self.versions):
            if self.is_national and version.national_default_applies:
                problems.append(
                    f"versions[{i}].national_default_applies: expected none in the national "
                    "file (it is the default); set these timescales instead"
                )
        by_date = sorted(enumerate(self.versions), key=lambda iv: iv[1].effective_from)
        for i, version in by_date[1:]:
            if version.assumed_from is not None:
                problems.append(
                    f"versions[{i}].assumed_from: expected only on the earliest version "
                    "(a later one follows a real document)"
                )
        for (_, earlier), (i, later) in zip(by_date, by_date[1:], strict=False):
            if earlier.effective_to is None or earlier.effective_to >= later.effective_from:
                problems.append(
                    f"versions[{i}].effective_from: version {later.version} starts "
                    f"{later.effective_from.isoformat()}, inside version {earlier.version} "
                    f"({earlier.span()}); expected ranges that do not overlap"
                )
            if later.version <= earlier.version:
                problems.append(
                    f"versions[{i}].version: expected a number above {earlier.version} "
                    f"(versions are numbered in date order); got {later.version}"
                )
        _refuse(problems)
        return self


def prefix_from_slug(slug: str) -> str:
    """`redcar-and-cleveland` -> RC, `redbridge` -> RED (collisions are refused, not renamed)."""
    words = [w for w in slug.replace("_", "-").split("-") if w and w != "and"]
    prefix = "".join(w[0] for w in words).upper() if len(words) > 1 else slug[:3].upper()
    return prefix[:8]


def prefix_problems(policies: dict[str, PolicyFile]) -> list[str]:
    """A line for each file whose case prefix another authority shares (keyed by file name)."""
    owners: dict[str, list[str]] = {}
    for where, policy in sorted(policies.items()):
        if policy.authority not in (NATIONAL, ENGINE_DEFAULTS):
            owners.setdefault(policy.prefix, []).append(where)
    return [
        f"{where}: case_prefix: {prefix!r} is also "
        f"{', '.join(other for other in files if other != where)}'s; expected a prefix no other "
        "authority uses (set case_prefix: in one of them)"
        for prefix, files in owners.items()
        if len(files) > 1
        for where in files
    ]


def _end_text(day: date | None) -> str:
    return "open-ended" if day is None else day.isoformat()


def _anchor_problems(timescales: dict[TimescaleKind, Timescale]) -> list[str]:
    problems = []
    for kind, timescale in timescales.items():
        allowed = ALLOWED_ANCHORS[kind]
        if timescale.counts_from not in allowed:
            problems.append(
                f"timescales.{kind.value}.counts_from: expected "
                f"{' or '.join(sorted(a.value for a in allowed))}; "
                f"got {timescale.counts_from.value!r}"
            )
    return problems


def _coverage_problems(
    timescales: dict[TimescaleKind, Timescale], lists: dict[str, tuple[TimescaleKind, ...]]
) -> list[str]:
    # nothing is silently defaulted: the file says, kind by kind, where each clock comes from
    problems: list[str] = []
    for field, kinds in lists.items():
        problems += _duplicates(field, kinds)
        both = [kind.value for kind in TimescaleKind if kind in timescales and kind in kinds]
        if both:
            problems.append(
                f"{field}: {', '.join(both)} also set in timescales; "
                "expected each clock either set or inherited, not both"
            )
    named = list(timescales) + [kind for kinds in lists.values() for kind in kinds]
    twice = sorted({k.value for k in named if named.count(k) > 1 and k not in timescales})
    if twice:
        problems.append(
            f"national_default_applies: {', '.join(twice)} listed in more than one of "
            "national_default_applies, engine_default_applies and no_clock; expected one"
        )
    neither = [k.value for k in TimescaleKind if k not in named]
    if neither:
        problems.append(
            "timescales: expected every clock set here or listed in national_default_applies, "
            f"engine_default_applies or no_clock; missing {', '.join(neither)}"
        )
    return problems


def _duplicates(field: str, kinds: tuple[TimescaleKind, ...]) -> list[str]:
    repeated = sorted({k.value for k in kinds if kinds.count(k) > 1})
    return [f"{field}: expected each kind once; repeated {', '.join(repeated)}"] if repeated else []


def _escalation_problems(
    ladder: tuple[EscalationStep, ...], channels: dict[Role, tuple[Channel, ...]]
) -> list[str]:
    problems = []
    for i, (lower, higher) in enumerate(zip(ladder, ladder[1:], strict=False), start=1):
        if higher.after_working_days_overdue <= lower.after_working_days_overdue:
            problems.append(
                f"escalation[{i}].after_working_days_overdue: expected more than "
                f"{lower.after_working_days_overdue} (the step before); "
                f"got {higher.after_working_days_overdue}"
            )
    roles = [step.role for step in ladder]
    for i, role in enumerate(roles):
        if role in roles[:i]:
            problems.append(f"escalation[{i}].role: expected each role once; repeated {role.value}")
        elif not channels.get(role):
            problems.append(
                f"channels.{role.value}: expected at least one channel for a role on the "
                "escalation ladder; got none"
            )
    for role, ways in channels.items():
        if len(set(ways)) != len(ways):
            listed = ", ".join(way.value for way in ways)
            problems.append(f"channels.{role.value}: expected each channel once; got {listed}")
    return problems
