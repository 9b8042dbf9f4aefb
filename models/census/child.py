"""The child's personal data the census return needs, validated before it is stored.

This is personal data: it lives in the `child` table, is set by `cin child set` or an import
file's `child` object, and reaches only the census return. No error message repeats a date of
birth or a UPN; a bad code is refused with its code list named.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from models.census.codes import DisabilityCode, EthnicityCode, SexCode, UpnUnknownCode

# DfE "Unique pupil numbers (UPNs): guidance" (UPN_Guide_1.2): 13 characters, a check letter
# then 11 digits and a digit or letter; the check letter is the sum over characters 2-13 of
# weight i * value, mod 23, read through this alphabet (no I, O or S).
_CHECK_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"
_UPN_SHAPE = re.compile(r"[A-Z]\d{11}[0-9A-Z]")  # capitals: the DfE's XSD pattern has no a-z


def upn_check_letter(upn: str) -> str:
    """The check letter for characters 2-13 of a UPN (a letter at 13 counts by the alphabet)."""
    total = 0
    for weight, char in enumerate(upn[1:13], start=2):
        value = int(char) if char.isdigit() else _CHECK_LETTERS.index(char.upper())
        total += weight * value
    return _CHECK_LETTERS[total % 23]


def upn_problem(upn: str) -> str | None:
    """Why a UPN is not valid, without repeating it; None when it is."""
    if not _UPN_SHAPE.fullmatch(upn):
        return "expected 13 characters: a capital letter, 11 digits, then a digit or capital"
    last = upn[12].upper()
    if not last.isdigit() and last not in _CHECK_LETTERS:
        return "expected character 13 to be a digit or a letter of the UPN alphabet (no I, O, S)"
    if upn[0].upper() != upn_check_letter(upn):
        return "the check letter (character 1) does not match the other 12 (DfE UPN guidance)"
    return None


class ChildDetails(BaseModel):
    """What `cin child set` records. Exactly one of `upn` and `upn_unknown`; exactly one of
    `birth_date` and `expected_birth_date` (an unborn child, whose sex is U)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sex: SexCode
    ethnicity: EthnicityCode
    birth_date: date | None = None
    expected_birth_date: date | None = None
    upn: str | None = None
    upn_unknown: UpnUnknownCode | None = None
    former_upn: str | None = None
    disabilities: tuple[DisabilityCode, ...] = ()
    death_date: date | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ChildDetails:
        if (self.birth_date is None) == (self.expected_birth_date is None):
            raise ValueError(
                "expected a date of birth (dob) or an expected date of birth, not both"
            )
        if self.expected_birth_date is not None and self.sex != "U":
            raise ValueError("an unborn child's sex is U (CODES.md)")
        if (self.upn is None) == (self.upn_unknown is None):
            raise ValueError("expected a UPN or a UPN-unknown reason UN1-UN7, not both")
        for name in ("upn", "former_upn"):
            value = getattr(self, name)
            problem = upn_problem(value) if value is not None else None
            if problem is not None:
                raise ValueError(f"{name}: {problem}")
        if "NONE" in self.disabilities and len(self.disabilities) > 1:
            raise ValueError("disability NONE is used alone")
        if len(set(self.disabilities)) != len(self.disabilities):
            raise ValueError("disabilities: each code once")
        return self


_CODE_LISTS = {
    "sex": "M|F|U",
    "ethnicity": "the DfE ethnicity codes (WBRI, WIRI, ... NOBT; CODES.md / the XSD)",
    "upn_unknown": "UN1-UN7",
    "disabilities": "NONE, MOB, HAND, PC, INC, COMM, LD, HEAR, VIS, BEH, CON, AUT, DDA",
}
_DATES = {"birth_date", "expected_birth_date", "death_date"}


def date_problems(details: ChildDetails, today: date) -> list[str]:
    """Dates no child can have on `today`, each naming its field, never the value (issue 26).

    Engine defaults, each the plain meaning of the field in the DfE census guidance: a birth or
    a death happened on or before today; a death is not before the birth; an expected date of
    birth is for a child not yet born, so today or later.
    """
    problems = []
    born, died, due = details.birth_date, details.death_date, details.expected_birth_date
    if born is not None and born > today:
        problems.append("birth_date: expected a date on or before today")
    if died is not None and died > today:
        problems.append("death_date: expected a date on or before today")
    if died is not None and born is not None and died < born:
        problems.append("death_date: expected a date on or after the date of birth")
    if due is not None and due < today:
        problems.append(
            "expected_birth_date: expected today or later (a child born since: set the dob)"
        )
    return problems


def parse_child(data: dict[str, Any], *, today: date | None = None) -> ChildDetails:
    """Validate loose input (against `today`'s date when given); the error names each field and
    what was expected, and never echoes a date of birth or a UPN."""
    try:
        details = ChildDetails.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else ""
            if field in _CODE_LISTS:
                problems.append(
                    f"{field}: expected one of {_CODE_LISTS[field]}; got {err['input']!r}"
                )
            elif field in _DATES:
                problems.append(f"{field}: expected a date YYYY-MM-DD")
            elif field in ("upn", "former_upn"):
                problems.append(f"{field}: expected a string")
            elif field:
                problems.append(f"{field}: {err['msg']}")
            else:
                problems.append(str(err["msg"]).removeprefix("Value error, "))
        raise ValueError("child details refused: " + "; ".join(problems)) from None
    problems = date_problems(details, today) if today is not None else []
    if problems:
        raise ValueError("child details refused: " + "; ".join(problems))
    return details
