"""Small factories for policy files in a temporary folder (never the real `policies/`)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from models.policy.timescales import TimescaleKind

REAL_POLICIES = Path(__file__).resolve().parents[3] / "policies"
STATUTORY = (
    "referral_decision",
    "assessment_completed",
    "icpc",
    "first_cp_review",
    "cp_review",
    "first_core_group",
)
NO_CLOCK = ("cin_support_initiated", "team_manager_review")


def timescale(
    amount: int = 6,
    unit: str = "months",
    counts_from: str = "previous_review",
    source: str = "test s1",
) -> dict[str, Any]:
    return {"amount": amount, "unit": unit, "counts_from": counts_from, "source": source}


def version(
    number: int = 1,
    effective_from: str = "2018-01-01",
    effective_to: str | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A valid version that sets `review` itself and inherits every other clock."""
    data: dict[str, Any] = {
        "version": number,
        "effective_from": effective_from,
        "effective_to": effective_to,
        "source": "test policy",
        "roll_non_working_start": False,
        "closure_days": {"one_off": [], "annual": []},
        "timescales": {"review": timescale()},
        "national_default_applies": list(STATUTORY),
        "engine_default_applies": [
            k.value
            for k in TimescaleKind
            if k.value not in STATUTORY
            and k.value not in NO_CLOCK
            and k is not TimescaleKind.REVIEW
        ],
        "no_clock": list(NO_CLOCK),
        "escalation": [
            {"role": "team_manager", "after_working_days_overdue": 0},
            {"role": "service_manager", "after_working_days_overdue": 5},
        ],
        "channels": {"team_manager": ["email"], "service_manager": ["email", "teams"]},
        "urgent": ["icpc"],
    }
    data.update(overrides)
    return data


def authority(
    slug: str = "testshire", *versions: dict[str, Any], nation: str = "england"
) -> dict[str, Any]:
    return {
        "authority": slug,
        "name": f"{slug.title()} Council",
        "nation": nation,
        "versions": list(versions) or [version()],
    }


def write_policy(folder: Path, data: dict[str, Any], stem: str | None = None) -> Path:
    path = folder / f"{stem or data['authority']}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def policy_folder(tmp_path: Path, *policies: dict[str, Any]) -> Path:
    """A folder holding the real national default and the given authority files."""
    folder = tmp_path / "policies"
    folder.mkdir()
    for name in ("national.yaml", "engine-defaults.yaml"):
        shutil.copy(REAL_POLICIES / name, folder / name)
    for data in policies:
        write_policy(folder, data)
    return folder
