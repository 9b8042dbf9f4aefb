"""The policy file format: one authority's YAML, validated (DESIGN.md, "Policies").

Only the shape and the rules one file can break live here: the version and the file (the pieces
a version is built of are parts.py, its cross-field rules rules.py). Which version is in force on
a day, and what falls back to the national default, is `models.policy.book`.

A rule spanning several fields reports every breach as a line `field.path: expected ...; got ...`
relative to the model it sits on; `models.policy.loading` prefixes the model's own position.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictInt, StringConstraints, model_validator

from calendars.types import Nation
from models.policy.parts import (
    Channel,
    ClosureDays,
    DriftRule,
    EscalationStep,
    Role,
    Strict,
    Text,
    Timescale,
    refuse,
)
from models.policy.retention import RetentionRule
from models.policy.rules import (
    anchor_problems,
    coverage_problems,
    duplicates,
    escalation_problems,
)
from models.policy.timescales import PracticeRule, TimescaleKind

NATIONAL = "national"  # the slug (and file stem) of the statutory national rules
ENGINE_DEFAULTS = "engine-defaults"  # the engine's own defaults: no document sets them
SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"
# A case reference is PREFIX-000123; the prefix is unique across the policy folder (case refs are
# unique), and an authority may set its own when the one made from its slug would collide.
CASE_PREFIX_PATTERN = r"^[A-Z][A-Z0-9]{1,7}$"


class PolicyVersion(Strict):
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
    # The council's rules that are not clocks, each with its citation (issue 19 point 7): a rule
    # left out does not apply to this council.
    rules: dict[PracticeRule, Text] = {}
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
        problems += anchor_problems(self.timescales)
        problems += coverage_problems(
            self.timescales,
            {
                "national_default_applies": self.national_default_applies,
                "engine_default_applies": self.engine_default_applies,
                "no_clock": self.no_clock,
            },
        )
        problems += duplicates("urgent", self.urgent or ())
        problems += escalation_problems(self.escalation or (), self.channels or {})
        refuse(problems)
        return self


class PolicyFile(Strict):
    authority: Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=64)]
    name: Text
    nation: Nation
    # the DfE's three-digit LA number, the census return's LEA (DfE "LA codes"); None = not set
    dfe_la_code: Annotated[str, StringConstraints(pattern=r"^\d{3}$")] | None = None
    case_prefix: Annotated[str, StringConstraints(pattern=CASE_PREFIX_PATTERN)] | None = None
    versions: tuple[PolicyVersion, ...] = Field(min_length=1)
    # how long a child's record is kept (models/policy/retention.py): the council's own rule with
    # its source, or "engine_default" (engine-defaults.yaml's rule); None = the engine default
    retention: RetentionRule | Literal["engine_default"] | None = None
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
        refuse(problems)
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
