"""Policy resolution: which version is in force, what falls back to the national default, and the
counts a manager can check by hand (DESIGN.md, "Policies" and "What each clock counts from").

    book = load_policy_dir(Path("policies"))
    view = book.authority("warwickshire").on(date(2024, 12, 20))
    view.count(TimescaleKind.ASSESSMENT_COMPLETED, date(2024, 12, 20)).explanation
    # "20 working days from referral on 2024-12-20 under warwickshire v1, skipping 25 Dec ..."
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from calendars import Nation
from models.fields import shown
from models.policy.diff import diff_versions
from models.policy.loading import (
    PolicyError,
    PolicyUnreadable,
    engine_problems,
    load_policy_file,
    national_problems,
    validate_policy_file,
)
from models.policy.parts import Timescale
from models.policy.resolved import (
    ANCHOR_WORDS,
    ENGINE_DEFAULT,
    LOCAL,
    STATUTORY,
    Labelled,
    ResolvedPolicy,
    ResolvedTimescale,
    quantity,
)
from models.policy.schema import (
    ENGINE_DEFAULTS,
    NATIONAL,
    PolicyFile,
    PolicyVersion,
    prefix_problems,
)
from models.policy.timescales import PolicyTimeline, PolicyView, TimescaleKind

__all__ = [
    "ANCHOR_WORDS",
    "ENGINE_DEFAULT",
    "LOCAL",
    "STATUTORY",
    "Labelled",
    "quantity",
    "AuthorityPolicy",
    "PolicyBook",
    "PolicyError",
    "PolicyUnreadable",
    "PolicyFile",
    "PolicyVersion",
    "ResolvedPolicy",
    "ResolvedTimescale",
    "diff_versions",
    "load_policy_dir",
    "load_policy_file",
    "validate_policy_file",
]


@dataclass(frozen=True, slots=True)
class AuthorityPolicy:
    """Every version of one authority's policy.

    Satisfies `models.policy.timescales.PolicyTimeline`."""

    policy: PolicyFile
    national: PolicyFile
    engine: PolicyFile
    # `on(day)` resolved once a day: a replay asks for the same few days thousands of times
    _resolved_on: dict[date, ResolvedPolicy] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

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
        found = self._resolved_on.get(day)
        if found is None:
            found = self._resolved_on[day] = self._resolve(day)
        return found

    def _resolve(self, day: date) -> ResolvedPolicy:
        version = self.policy.in_force(day)
        if version is None:
            spans = "; ".join(f"v{v.version} {v.span()}" for v in self.policy.versions)
            raise PolicyError(
                [f"{self.slug}: no policy version in force on {day.isoformat()} ({spans})"]
            )
        own = (
            STATUTORY
            if self.policy.is_national
            else ENGINE_DEFAULT
            if self.policy.authority == ENGINE_DEFAULTS
            else LOCAL
        )
        timescales = {
            kind: _resolved(
                kind, timescale, self.slug, version.version, provenance=own, inherited=False
            )
            for kind, timescale in version.timescales.items()
            if timescale.applies_from is None or day >= timescale.applies_from
        }
        # a clock an amendment added (applies_from) is the engine default's before that day
        added_later = [k for k, t in version.timescales.items() if k not in timescales]
        for inherited_from, kinds, label in (
            (self.national, version.national_default_applies, STATUTORY),
            (self.engine, (*version.engine_default_applies, *added_later), ENGINE_DEFAULT),
        ):
            if not kinds:
                continue
            beneath = _in_force(inherited_from, day, self.slug)
            for kind in kinds:
                if kind in beneath.timescales:
                    timescales[kind] = _resolved(
                        kind,
                        beneath.timescales[kind],
                        inherited_from.authority,
                        beneath.version,
                        provenance=label,
                        inherited=True,
                    )
        engine = _in_force(self.engine, day, self.slug)
        labels, settings = _settings(version, engine, own)
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
            escalation=settings.escalation or (),
            channels=dict(settings.channels or {}),
            urgent=frozenset(settings.urgent or ()),
            continue_streak=settings.drift.continues_in_a_row if settings.drift else 3,
            labels=labels,
            no_clock=version.no_clock,
            assumed_from=version.assumed_from,
            day=day,
            rules=dict(version.rules),
        )


def _in_force(policy: PolicyFile, day: date, slug: str) -> PolicyVersion:
    found = policy.in_force(day)
    if found is None:
        raise PolicyError(
            [f"{policy.authority}: no version in force on {day.isoformat()} for {slug}"]
        )
    return found


def _settings(
    version: PolicyVersion, engine: PolicyVersion, own: str
) -> tuple[dict[str, Labelled], PolicyVersion]:
    """The ladder, channels, urgent kinds and drift rule: the version's own, else the engine's."""
    labels: dict[str, Labelled] = {}
    chosen: dict[str, object] = {}
    for name in ("escalation", "channels", "urgent", "drift"):
        value = getattr(version, name)
        if value is None:
            chosen[name] = getattr(engine, name)
            reason = engine.reasons.get(name, "no document sets one")
            if name == "drift" and engine.drift is not None:
                reason = engine.drift.reason
            labels[name] = Labelled(ENGINE_DEFAULT, reason)
        else:
            chosen[name] = value
            labels[name] = Labelled(own, version.source)
    return labels, version.model_copy(update=chosen)


def _resolved(
    kind: TimescaleKind,
    timescale: Timescale,
    slug: str,
    number: int,
    *,
    provenance: str,
    inherited: bool,
) -> ResolvedTimescale:
    return ResolvedTimescale(
        kind=kind,
        amount=timescale.amount,
        unit=timescale.unit,
        counts_from=timescale.counts_from,
        source=timescale.source,
        inherited=inherited,
        defined_by=f"{slug} v{number}",
        provenance=provenance,
    )


@dataclass(frozen=True, slots=True)
class PolicyBook:
    """Every authority's policy plus the national default, loaded from one folder."""

    national: PolicyFile
    authorities: Mapping[str, PolicyFile]
    engine: PolicyFile
    # authority files that are not policy files at all (PolicyUnreadable), one line each
    left_out: tuple[str, ...] = ()
    # each authority's timeline made once, so its `on(day)` cache lasts: an import asks for a
    # timeline per event, and made afresh each time it resolved the same days again (issue 23)
    _timelines: dict[str, AuthorityPolicy] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def slugs(self) -> tuple[str, ...]:
        """The authorities, sorted; the national default is not one of them."""
        return tuple(sorted(self.authorities))

    def authority(self, slug: str) -> AuthorityPolicy:
        if slug == NATIONAL:
            return AuthorityPolicy(self.national, self.national, self.engine)
        if slug == ENGINE_DEFAULTS:
            return AuthorityPolicy(self.engine, self.national, self.engine)
        if slug not in self.authorities:
            raise PolicyError(
                [f"unknown authority {shown(slug)}; known: {', '.join((*self.slugs(), NATIONAL))}"]
            )
        made = self._timelines.get(slug)
        if made is None or made.policy is not self.authorities[slug]:
            made = self._timelines[slug] = AuthorityPolicy(
                self.authorities[slug], self.national, self.engine
            )
        return made


def load_policy_dir(folder: Path) -> PolicyBook:
    """All `*.yaml` in `folder`: `national.yaml` holds the statutory rules, `engine-defaults.yaml`
    the engine's own defaults, every other file one authority. Every problem in one error."""
    if not folder.is_dir():
        raise PolicyError([f"{folder}: expected a folder of policy files"])
    national_path = folder / f"{NATIONAL}.yaml"
    engine_path = folder / f"{ENGINE_DEFAULTS}.yaml"
    for path, what in (
        (national_path, "the statutory rules every authority inherits"),
        (engine_path, "the engine's own defaults"),
    ):
        if not path.exists():
            raise PolicyError([f"{folder}: no {path.name}, {what}"])
    problems: list[str] = []
    left_out: list[str] = []
    loaded: dict[Path, PolicyFile] = {}
    for path in sorted(folder.glob("*.yaml")):
        try:
            loaded[path] = load_policy_file(path)
        except PolicyUnreadable as error:
            # not a policy file at all (issue 26): the other councils keep working; a broken
            # authority policy (a field, a rule) still stops the folder, as before
            if path in (national_path, engine_path):
                problems.extend(error.problems)
            else:
                left_out.extend(error.problems)
        except PolicyError as error:
            problems.extend(error.problems)
    problems.extend(prefix_problems({str(path): policy for path, policy in loaded.items()}))
    national = loaded.pop(national_path, None)
    engine = loaded.pop(engine_path, None)
    if engine is not None:
        problems.extend(engine_problems(engine, engine_path))
    if national is not None and engine is not None:
        for path, policy in loaded.items():
            problems.extend(national_problems(policy, national, path))
            problems.extend(national_problems(policy, engine, path, engine=True))
    if problems or national is None or engine is None:
        raise PolicyError(problems)
    authorities = {policy.authority: policy for policy in loaded.values()}
    return PolicyBook(national, authorities, engine, tuple(left_out))


if TYPE_CHECKING:
    # mypy proves the lifecycle can use these through its protocols
    def _conforms(
        view: ResolvedPolicy, timeline: AuthorityPolicy
    ) -> tuple[PolicyView, PolicyTimeline]:
        return view, timeline
