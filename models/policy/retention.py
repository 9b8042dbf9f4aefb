"""The retention rule of a council's records (issue 24): what starts the clock, how many years.

A council's file states it under `retention:`: its own rule with the document that sets it
(local), or `engine_default`, which takes the rule of engine-defaults.yaml with its reason. None
of the seeds sets a retention period, so every council's file says `engine_default` today.
Pure: no database, no clock (the caller hands in the day to judge).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal

from pydantic import Field, StrictInt

from calendars import add_months
from models.policy.parts import Strict, Text

Basis = Literal["date_of_birth", "last_closure"]
BASIS_TEXT = {
    "date_of_birth": "the child's date of birth",
    "last_closure": "the last case's closure",
}


class RetentionRule(Strict):
    """Keep a child's record until `years` after `basis`, then destroy it (unless held)."""

    basis: Basis
    years: Annotated[StrictInt, Field(ge=1, le=120)]
    source: Text


@dataclass(frozen=True)
class Retention:
    """The rule in force for one council, and where it comes from."""

    rule: RetentionRule
    provenance: Literal["local", "engine default"]

    def describe(self) -> str:
        basis = BASIS_TEXT[self.rule.basis]
        return f"{self.rule.years} years from {basis} ({self.provenance}: {self.rule.source})"

    def due_on(self, *, birth_date: date | None, last_closure: date | None) -> date | None:
        """The day the record falls due for destruction; None if its start is not known."""
        start = birth_date if self.rule.basis == "date_of_birth" else last_closure
        return None if start is None else add_months(start, 12 * self.rule.years)


def retention_of(own: object, engine: object) -> Retention:
    """The council's own rule (its file's `retention`), else (the file says `engine_default`, or
    nothing) the engine's (engine-defaults.yaml's `retention`)."""
    if isinstance(own, RetentionRule):
        return Retention(own, "local")
    if not isinstance(engine, RetentionRule):
        raise ValueError("engine-defaults.yaml: retention: expected the engine's own rule")
    return Retention(engine, "engine default")
