"""`cin policy whatif`'s answer, per team and in total (pure: handed the replay and the policies).

moved: open deadlines whose due date changes, earlier and later, and by how many days
overdue_today: open deadlines past due today, now and under the change
now / then: alerts per week over the coming quarter and escalations by rung (projection.py)
moves: each deadline whose due date changes: case, team, deadline, due now and then
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from statistics import median
from typing import Any

from models.policy.book import ResolvedPolicy
from models.whatif.replay import Replayed, overdue_on
from notifications.projection import Projection, project

NO_TEAM = "(no team)"


def summarise(
    replayed: Sequence[Replayed],
    now_policy: ResolvedPolicy,
    then_policy: ResolvedPolicy,
    today: date,
    soon: int,
) -> dict[str, Any]:
    teams: dict[str, list[Replayed]] = defaultdict(list)
    for case in replayed:
        teams[case.team or NO_TEAM].append(case)
    # each case's notices once, summed per team and in total
    now_memo: dict[Any, Any] = {}
    then_memo: dict[Any, Any] = {}
    projected = {
        case.case_ref: (
            project(case.before, now_policy, today, soon, now_memo),
            project(case.after, then_policy, today, soon, then_memo),
        )
        for case in replayed
    }
    by_team = {team: _summary(cases, projected, today) for team, cases in sorted(teams.items())}
    total = _summary(replayed, projected, today)
    moves = sorted(
        (
            {
                "case": case.case_ref,
                "team": case.team or NO_TEAM,
                "deadline": key,
                "due_now": now.isoformat(),
                "due_then": then.isoformat(),
                "days": (then - now).days,
            }
            for case in replayed
            for key, _, now, then in case.moves()
        ),
        key=lambda m: (m["case"], m["deadline"]),
    )
    return {"today": today.isoformat(), **total, "by_team": by_team, "moves": moves}


def _summary(
    cases: Sequence[Replayed],
    projected: dict[str, tuple[Projection, Projection]],
    today: date,
) -> dict[str, Any]:
    shifts = [(then - now).days for case in cases for _, _, now, then in case.moves()]
    moved_by_kind: dict[str, int] = defaultdict(int)
    for case in cases:
        for _, kind, _, _ in case.moves():
            moved_by_kind[kind] += 1
    now, then = Projection(), Projection()
    for case in cases:
        now.add(projected[case.case_ref][0])
        then.add(projected[case.case_ref][1])
    return {
        "open_cases": len(cases),
        "open_deadlines": sum(len(c.before) for c in cases),
        "moved": len(shifts),
        "moved_earlier": sum(1 for s in shifts if s < 0),
        "moved_later": sum(1 for s in shifts if s > 0),
        "moved_by_kind": dict(sorted(moved_by_kind.items())),
        "shift_days": {
            "min": min(shifts) if shifts else None,
            "median": median(shifts) if shifts else None,
            "max": max(shifts) if shifts else None,
        },
        "appeared": sum(len(c.appeared()) for c in cases),
        "vanished": sum(len(c.vanished()) for c in cases),
        "refused": sum(1 for c in cases if c.refused),
        "overdue_today": {
            "now": sum(overdue_on(c.before, today) for c in cases),
            "then": sum(overdue_on(c.after, today) for c in cases),
        },
        "now": now.as_json(),
        "then": then.as_json(),
    }
