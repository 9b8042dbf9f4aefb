"""A policy as it would be after a change, for `cin policy whatif` (nothing is written anywhere).

`--set first_review="4 weeks"` changes one timescale of the version in force today (the clocks
that started under earlier versions stay counted under them, as they would be); `--draft FILE`
replaces the authority's file with a draft, validated as `cin policy validate` would.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from calendars.types import Unit
from models.policy.book import AuthorityPolicy, PolicyBook, PolicyError, validate_policy_file
from models.policy.parts import Timescale
from models.policy.timescales import TimescaleKind

_UNITS: dict[str, Unit] = {
    "working day": Unit.WORKING_DAYS,
    "working days": Unit.WORKING_DAYS,
    "working-days": Unit.WORKING_DAYS,
    "wd": Unit.WORKING_DAYS,
    "day": Unit.DAYS,
    "days": Unit.DAYS,
    "week": Unit.WEEKS,
    "weeks": Unit.WEEKS,
    "month": Unit.MONTHS,
    "months": Unit.MONTHS,
}
_UNIT_LIST = "working days, days, weeks, months"
_SETTING = re.compile(r"^\s*([a-z_]+)\s*=\s*(\d+)\s*([a-z -]+?)\s*$")


@dataclass(frozen=True, slots=True)
class TimescaleSetting:
    kind: TimescaleKind
    amount: int
    unit: Unit

    def describe(self) -> str:
        return f"{self.kind.value} = {self.amount} {self.unit.value}"


def parse_setting(text: str) -> TimescaleSetting:
    """`first_review=4 weeks` -> the setting; anything else a one-line error naming what."""
    match = _SETTING.match(text.lower())
    if match is None:
        raise PolicyError(
            [f"--set: expected KIND=AMOUNT UNIT like 'first_review=4 weeks'; got {text!r}"]
        )
    name, amount, unit_text = match.groups()
    try:
        kind = TimescaleKind(name)
    except ValueError:
        known = ", ".join(k.value for k in TimescaleKind)
        raise PolicyError([f"--set: expected a timescale kind ({known}); got {name!r}"]) from None
    unit = _UNITS.get(unit_text.strip())
    if unit is None:
        raise PolicyError([f"--set {name}: expected a unit ({_UNIT_LIST}); got {unit_text!r}"])
    if int(amount) < 1 or int(amount) > 3660:
        raise PolicyError([f"--set {name}: expected an amount from 1 to 3660; got {amount}"])
    return TimescaleSetting(kind, int(amount), unit)


def with_settings(
    book: PolicyBook, slug: str, settings: list[TimescaleSetting], today: date
) -> AuthorityPolicy:
    """The authority's policy with `settings` applied to the version in force on `today`."""
    timeline = book.authority(slug)
    resolved = timeline.on(today)  # PolicyError if no version is in force today
    version = timeline.policy.in_force(today)
    assert version is not None
    timescales = dict(version.timescales)
    statutory = list(version.national_default_applies)
    engine = list(version.engine_default_applies)
    for setting in settings:
        current = resolved.timescales.get(setting.kind)
        if current is None:
            raise PolicyError(
                [f"--set {setting.kind.value}: {slug} v{version.version} has no such clock"]
            )
        timescales[setting.kind] = Timescale(
            amount=setting.amount,
            unit=setting.unit,
            counts_from=current.counts_from,
            source=f"what if: {setting.describe()} (was {current.amount} {current.unit.value})",
        )
        for inherited in (statutory, engine):
            if setting.kind in inherited:
                inherited.remove(setting.kind)
    changed = version.model_copy(
        update={
            "timescales": timescales,
            "national_default_applies": tuple(statutory),
            "engine_default_applies": tuple(engine),
        }
    )
    versions = tuple(changed if v is version else v for v in timeline.policy.versions)
    return AuthorityPolicy(
        timeline.policy.model_copy(update={"versions": versions}), book.national, book.engine
    )


def from_draft(book: PolicyBook, slug: str, path: Path) -> AuthorityPolicy:
    draft = validate_policy_file(path)  # PolicyError naming file and field
    if draft.authority != slug:
        raise PolicyError([f"{path}: authority: expected {slug!r}; got {draft.authority!r}"])
    return AuthorityPolicy(draft, book.national, book.engine)
