"""The rules a policy version breaks across several of its fields: each clock's anchor, where
every clock comes from (set, inherited or none), kinds listed twice, the escalation ladder and its
channels. Each returns its breaches as lines `field: expected ...; got ...` (schema.py refuses).
"""

from __future__ import annotations

from models.policy.parts import Channel, EscalationStep, Role, Timescale
from models.policy.timescales import ALLOWED_ANCHORS, TimescaleKind


def anchor_problems(timescales: dict[TimescaleKind, Timescale]) -> list[str]:
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


def coverage_problems(
    timescales: dict[TimescaleKind, Timescale], lists: dict[str, tuple[TimescaleKind, ...]]
) -> list[str]:
    # nothing is silently defaulted: the file says, kind by kind, where each clock comes from
    problems: list[str] = []
    for field, kinds in lists.items():
        problems += duplicates(field, kinds)
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


def duplicates(field: str, kinds: tuple[TimescaleKind, ...]) -> list[str]:
    repeated = sorted({k.value for k in kinds if kinds.count(k) > 1})
    return [f"{field}: expected each kind once; repeated {', '.join(repeated)}"] if repeated else []


def escalation_problems(
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
