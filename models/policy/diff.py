"""What changed between two versions of one authority's policy, a line per setting."""

from __future__ import annotations

from collections.abc import Iterable

from models.policy.schema import PolicyVersion
from models.policy.timescales import TimescaleKind

_NOT_SET = "(not set)"


def diff_versions(a: PolicyVersion, b: PolicyVersion) -> list[str]:
    """Lines like `timescales.review: 6 months (003 s5) -> 3 months (...)`, in a stable order."""
    before, after = settings_of(a), settings_of(b)
    lines = []
    for key in [*before, *(k for k in after if k not in before)]:
        old, new = before.get(key, _NOT_SET), after.get(key, _NOT_SET)
        if old != new:
            lines.append(f"{key}: {old} -> {new}")
    return lines


def settings_of(version: PolicyVersion) -> dict[str, str]:
    """Each setting of a version as text, keyed by its path in the file."""
    settings = {
        "effective_from": version.effective_from.isoformat(),
        "effective_to": "open-ended" if version.effective_to is None else str(version.effective_to),
        "source": version.source,
        "roll_non_working_start": str(version.roll_non_working_start).lower(),
    }
    for kind in TimescaleKind:
        if kind in version.timescales:
            settings[f"timescales.{kind.value}"] = version.timescales[kind].describe()
        elif kind in version.national_default_applies:
            settings[f"timescales.{kind.value}"] = "statutory (national)"
        elif kind in version.engine_default_applies:
            settings[f"timescales.{kind.value}"] = "engine default"
        elif kind in version.no_clock:
            settings[f"timescales.{kind.value}"] = "no clock"
    settings["closure_days.one_off"] = _listed(
        f"{c.day.isoformat()} ({c.name})" for c in version.closure_days.one_off
    )
    settings["closure_days.annual"] = _listed(
        f"{c.start} to {c.end} ({c.name})" for c in version.closure_days.annual
    )
    settings["escalation"] = (
        "engine default"
        if version.escalation is None
        else _listed(
            f"{s.role.value} after {s.after_working_days_overdue}" for s in version.escalation
        )
    )
    if version.channels is None:
        settings["channels"] = "engine default"
    for role, channels in (version.channels or {}).items():
        settings[f"channels.{role.value}"] = _listed(c.value for c in channels)
    settings["urgent"] = (
        "engine default"
        if version.urgent is None
        else _listed(sorted(k.value for k in version.urgent))
    )
    return settings


def _listed(items: Iterable[str]) -> str:
    texts = list(items)
    return ", ".join(texts) if texts else "none"
