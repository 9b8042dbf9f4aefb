"""Limits and character sets of every free-text field a user or a recording system gives (pure).

One table, checked in the domain before anything reaches a database, so SQLite and PostgreSQL
refuse the same input with the same message (docs/operating.md, "Limits"). A refusal names the
field and what was expected; it never quotes a child's reference, and quotes other values only
cut short and escaped (`shown`), so a control code or a 50 MB value never reaches a terminal or a
log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

SHOWN_CHARS = 40  # at most this much of a refused value is quoted back


class FieldRefused(ValueError):
    """A field's value breaks its limit or character set; the message is one line."""


@dataclass(frozen=True, slots=True)
class FieldRule:
    name: str  # as the user knows it: `--child`, `child`, `staff_id`
    max_length: int
    pattern: re.Pattern[str]
    charset: str  # the character set in words, for the message
    personal: bool = False  # a child's detail: its value is never quoted back

    def check(self, value: object, *, field: str | None = None) -> str:
        """`value` if it fits; else FieldRefused naming `field` (default: the rule's name)."""
        label = field or self.name
        if not isinstance(value, str):
            raise FieldRefused(f"{label}: expected text; got {type(value).__name__}")
        expected = f"expected 1 to {self.max_length} characters ({self.charset})"
        if not value.strip():
            raise FieldRefused(f"{label}: {expected}; got {'nothing' if not value else 'blanks'}")
        if len(value) > self.max_length:
            raise FieldRefused(f"{label}: {expected}; got {len(value)} characters")
        if not self.pattern.fullmatch(value):
            got = "a character outside that set" if self.personal else shown(value)
            raise FieldRefused(f"{label}: {expected}; got {got}")
        return value


def shown(value: object, limit: int = SHOWN_CHARS) -> str:
    """`value` quoted for a message: escaped (no control codes) and cut to `limit` characters."""
    if not isinstance(value, str):
        text = ascii(value)
        return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"
    if len(value) <= limit:
        return ascii(value)
    return f"{ascii(value[:limit])}... ({len(value)} characters)"


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_iso_date(text: str, *, field: str = "date") -> date:
    """YYYY-MM-DD only: `date.fromisoformat` also takes 20250106 and 2025-W02-1."""
    if not isinstance(text, str) or not _ISO_DATE.fullmatch(text):
        raise FieldRefused(f"{field}: expected a date YYYY-MM-DD; got {shown(text)}")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FieldRefused(f"{field}: expected a real date YYYY-MM-DD; got {shown(text)}") from None


def iso_date_text(value: object) -> object:
    """For pydantic: a date stays a date; text must be YYYY-MM-DD; anything else is refused."""
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return parse_iso_date(value, field="on")
    raise ValueError("expected a date YYYY-MM-DD")


_ID = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"

# the child's reference is the census return's LAchildID (`SYN000001`): the DfE rejects one with
# any character that is not a letter or digit (rule 1580, "LA Child ID must not contain any
# non-alphanumeric characters") or longer than 20 characters (rule 1570), in csc-validator-be-cin
# 0.1.13 (cin_validator/rules/cin2024_25/rule_1580.py, rule_1570.py); the XSD sets no length
# (models/census/CIN_schema_2026.xsd, LAchildID: xs:string). The validator's `str.isalnum` also
# takes letters of other scripts; ASCII only here, as every reference the engine has held
CHILD_REF = FieldRule(
    "child",
    20,
    re.compile(r"[A-Za-z0-9]+"),
    "letters and digits only: the DfE's LA child ID, census rules 1570 and 1580",
    personal=True,
)
# `RED-000123`: the authority's prefix, a dash, the case number
CASE_REF = FieldRule(
    "case", 32, re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"), "like RED-000123"
)
TEAM = FieldRule("team", 64, re.compile(_ID), "letters, digits and . _ - inside")
STAFF_ID = FieldRule("staff_id", 64, re.compile(_ID), "letters, digits and . _ - inside")
# an idempotency key: printable ASCII without spaces (`ics-4411`, `import:<sha256>`)
KEY = FieldRule("key", 128, re.compile(r"[\x21-\x7e]+"), "printable ASCII, no spaces")
# a person's name on the roster: any printable text, not a spreadsheet formula
PERSON_NAME = FieldRule(
    "name",
    200,
    re.compile(r"[^=+\-@\t\r\n\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*"),
    "printable text, not starting with = + - @",
)
# the text fields of a policy file (names, sources)
POLICY_TEXT_MAX = 1000

RULES = (CHILD_REF, CASE_REF, TEAM, STAFF_ID, KEY, PERSON_NAME)


def check_child_ref(value: object, *, field: str = "child") -> str:
    return CHILD_REF.check(value, field=field)


# a reference held before rule 1580 was enforced (`C-1`, `C/2025/17`): what naming a child
# already on record accepts (a legal hold), so such a child can still be held; a new child or
# new details take CHILD_REF
HELD_CHILD_REF = FieldRule(
    "child",
    64,
    re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._/-]*[A-Za-z0-9])?"),
    "letters, digits and . _ / - inside",
    personal=True,
)


def check_held_child_ref(value: object, *, field: str = "child") -> str:
    return HELD_CHILD_REF.check(value, field=field)


def check_case_ref(value: object, *, field: str = "case") -> str:
    return CASE_REF.check(value, field=field)


def check_key(value: object | None, *, field: str = "key") -> str | None:
    return None if value is None else KEY.check(value, field=field)


def check_team(value: object | None, *, field: str = "team") -> str | None:
    return None if value is None else TEAM.check(value, field=field)
