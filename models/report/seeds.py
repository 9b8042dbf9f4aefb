"""The seeds' published figures (`seed_figures.yaml`), each with its seed file and line."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

FIGURES_FILE = Path(__file__).resolve().parent / "seed_figures.yaml"
ENGLAND = "England"


@dataclass(frozen=True, slots=True)
class SeedFigure:
    measure: str  # the report's JSON key, a band as "key.band"
    who: str  # the council, region or "England"
    value: float
    unit: str
    period: str
    cite: str  # "001 line 83"
    counts: str | None = None

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "who": self.who,
            "value": self.value,
            "unit": self.unit,
            "period": self.period,
            "cite": self.cite,
        }
        if self.counts:
            data["counts"] = self.counts
        return data


@lru_cache(maxsize=1)
def seed_figures() -> tuple[SeedFigure, ...]:
    data = yaml.safe_load(FIGURES_FILE.read_text(encoding="utf-8"))
    return tuple(
        SeedFigure(
            measure=str(row["measure"]),
            who=str(row["who"]),
            value=float(row["value"]),
            unit=str(row["unit"]),
            period=str(row["period"]),
            cite=str(row["cite"]),
            counts=str(row["counts"]) if "counts" in row else None,
        )
        for row in data["figures"]
    )


def figures_for(measure: str) -> tuple[SeedFigure, ...]:
    return tuple(f for f in seed_figures() if f.measure == measure)


def england_reference(measure: str) -> SeedFigure | None:
    """The national figure drawn as a reference line in the comparison charts, if a seed has one
    (the Commissioner's average where it gives a spread)."""
    for figure in figures_for(measure):
        if figure.who in (ENGLAND, f"{ENGLAND} (average)"):
            return figure
    return None
