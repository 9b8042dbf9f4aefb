"""The pieces a policy version is built of: a timescale, closure days, an escalation step, the drift
rule, the roles and channels alerts use, and the strict base model (a misspelt key fails).

Pure; schema.py assembles them into a version and a file, rules.py checks them across fields.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints, model_validator
from pydantic_core import PydanticCustomError

from calendars.types import AnnualClosure, Closure, OneOffClosure, Unit
from models.fields import POLICY_TEXT_MAX
from models.policy.timescales import Anchor

RULE_ERROR = "policy_rule"  # pydantic error type of the cross-field rules (rules.py)

Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=POLICY_TEXT_MAX)
]
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


class Strict(BaseModel):
    # a misspelt key must fail loudly, or a council's rule would silently fall back to a default
    model_config = ConfigDict(extra="forbid", frozen=True)


def refuse(problems: list[str]) -> None:
    if problems:
        raise PydanticCustomError(RULE_ERROR, "{problems}", {"problems": "\n".join(problems)})


class Timescale(Strict):
    amount: Annotated[StrictInt, Field(ge=1)]
    unit: Unit
    counts_from: Anchor
    source: Text
    # The day the document's amendment added this clock (Redbridge's s7, 003 L17): before it
    # the engine's default of the same kind applies, labelled as such. None: the whole version.
    applies_from: date | None = None

    @model_validator(mode="after")
    def _within_a_year(self) -> Timescale:
        most = MAX_AMOUNT[self.unit]
        if self.amount > most:
            refuse(
                [
                    f"amount: expected 1 to {most} {self.unit.value} (engine default: no "
                    f"timescale runs past a year); got {self.amount}"
                ]
            )
        return self

    def describe(self) -> str:
        return f"{self.amount} {self.unit.value} ({self.source})"


class OneOffClosureDay(Strict):
    day: date = Field(alias="date")
    name: Text

    def to_calendar(self) -> OneOffClosure:
        return OneOffClosure(self.day, self.name)


class AnnualClosurePeriod(Strict):
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
        refuse(problems)
        return self

    def to_calendar(self) -> AnnualClosure:
        (start_month, start_day), (end_month, end_day) = (
            (int(part) for part in text.split("-")) for text in (self.start, self.end)
        )
        return AnnualClosure(start_month, start_day, end_month, end_day, self.name)


class ClosureDays(Strict):
    one_off: tuple[OneOffClosureDay, ...] = ()
    annual: tuple[AnnualClosurePeriod, ...] = ()

    def to_calendar(self) -> tuple[Closure, ...]:
        days: list[Closure] = [c.to_calendar() for c in self.one_off]
        days.extend(c.to_calendar() for c in self.annual)
        return tuple(days)


class EscalationStep(Strict):
    role: Role
    after_working_days_overdue: Annotated[StrictInt, Field(ge=0, le=260)]


class DriftRule(Strict):
    continues_in_a_row: Annotated[StrictInt, Field(ge=2)]
    reason: Text
