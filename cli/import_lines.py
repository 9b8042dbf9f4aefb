"""One line of a `cin import` file: parse it, find its case, accept it, count the outcome.

Shared by the single-process import and its worker processes (`cli.import_jobs`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from datetime import date

    from models.cases.lookup import ChildCase
    from models.cases.store import Accepted
    from models.policy.book import PolicyBook


class Recorder(Protocol):
    """What a line is accepted through: `engine.ingest.Ingest` (one transaction a line) or the
    bulk path's `cli.import_bulk.BulkRecorder` (one transaction a chunk), with the same checks."""

    @property
    def policies(self) -> PolicyBook: ...

    def record(
        self, case_ref: str, event: Mapping[str, Any], key: str | None = None
    ) -> Accepted: ...

    def open(
        self,
        *,
        authority: str,
        child_ref: str,
        event: Mapping[str, Any],
        team: str | None = None,
        key: str | None = None,
    ) -> Accepted: ...

    def set_child(self, *, authority: str, child_ref: str, details: Mapping[str, Any]) -> bool: ...

    def child_cases(self, *, authority: str, child_ref: str, key: str) -> list[ChildCase]: ...

    def record_contact(self, *, authority: str, child_ref: str, on: date, source: str) -> bool: ...


SHOWN_REFUSALS = 20
ADDRESS_FIELDS = ("case", "authority", "child", "team", "key")


@dataclass
class Tally:
    accepted: int = 0
    duplicates: int = 0
    refused: int = 0
    refusals: list[tuple[int, str]] = field(default_factory=list)  # the first, by line number

    @property
    def lines(self) -> int:
        return self.accepted + self.duplicates + self.refused

    def refuse(self, number: int, reason: str) -> None:
        self.refused += 1
        if len(self.refusals) < SHOWN_REFUSALS:
            self.refusals.append((number, reason))

    def merge(self, other: Tally) -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.refused += other.refused
        self.refusals = sorted(self.refusals + other.refusals)[:SHOWN_REFUSALS]

    def report(self) -> list[str]:
        """The refusal lines for stderr: the first few, then how many more."""
        shown = [f"line {number}: {reason}" for number, reason in self.refusals]
        if self.refused > len(shown):
            shown.append(f"... and {self.refused - len(shown)} more refused lines")
        return shown

    def summary(self) -> str:
        return (
            f"imported {self.lines} lines: {self.accepted} accepted, "
            f"{self.duplicates} duplicates, {self.refused} refused"
        )


def import_line(ingest: Recorder, number: int, text: str, tally: Tally) -> None:
    """Accept one line or count its refusal. A database error on the line (a constraint, a
    trigger) refuses that line alone and is logged, scrubbed; one that means the database cannot
    be used at all (unreachable, full, read-only, locked) stops the import (exit 3)."""
    from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError

    from cli.errors import one_line, sensitive, write_log

    try:
        record = parse_line(text)
    except ValueError as error:
        tally.refuse(number, one_line(str(error)))
        return
    child = record.get("child")
    personal = child.get("ref") if isinstance(child, dict) else child
    with sensitive(personal):
        try:
            if "type" not in record and isinstance(child, dict):
                set_child_details(ingest, record)  # a line that only sets the child's details
                tally.accepted += 1
                return
            if record.get("type") == "contact":
                if import_contact(ingest, record):
                    tally.accepted += 1
                else:
                    tally.duplicates += 1
                return
            accepted = import_record(ingest, record)
        except (ValueError, KeyError, TypeError) as error:
            # EventRefused, UnknownCase, PolicyError (unknown authority), FieldRefused
            message = error.args[0] if isinstance(error, KeyError) and error.args else error
            tally.refuse(number, one_line(str(message)))
            return
        except (OperationalError, InterfaceError):
            raise
        except SQLAlchemyError as error:
            where = write_log(error, ["import", f"line {number}"], words=2)
            tally.refuse(
                number,
                f"the case database refused this line ({type(error).__name__}); nothing of it "
                f"was written; {where}",
            )
            return
    if accepted.duplicate:
        tally.duplicates += 1
    else:
        tally.accepted += 1


def parse_line(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"malformed JSON: {error.msg} at column {error.colno}") from None
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object; got {type(data).__name__}")
    if data.get("key") is None:
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        data["key"] = "import:" + hashlib.sha256(canonical.encode()).hexdigest()
    return data


# an import line's `child` object: the child's reference and census details (personal data)
CHILD_OBJECT_FIELDS = {
    "ref": "ref",
    "dob": "birth_date",
    "expected_dob": "expected_birth_date",
    "sex": "sex",
    "ethnicity": "ethnicity",
    "upn": "upn",
    "upn_unknown": "upn_unknown",
    "former_upn": "former_upn",
    "disabilities": "disabilities",
    "died": "death_date",
}


def set_child_details(ingest: Recorder, record: dict[str, Any]) -> dict[str, Any]:
    """A `child` object sets the child's census details first; the line then carries on with the
    reference alone (a line without `type` only sets the details)."""
    child = record["child"]
    unknown = sorted(set(child) - set(CHILD_OBJECT_FIELDS))
    if unknown:
        expected = ", ".join(CHILD_OBJECT_FIELDS)
        raise ValueError(f"child: unknown field {unknown[0]!r}; expected {expected}")
    ref, authority = child.get("ref"), record.get("authority")
    if not isinstance(ref, str) or not ref:
        raise ValueError("child.ref: expected the child's reference (a string)")
    if not isinstance(authority, str):
        raise ValueError("a `child` object needs `authority`")
    details = {CHILD_OBJECT_FIELDS[k]: v for k, v in child.items() if k != "ref"}
    ingest.set_child(authority=authority, child_ref=ref, details=details)
    return {**record, "child": ref}


CONTACT_FIELDS = ("type", "on", "authority", "child", "source", "key")


def import_contact(ingest: Recorder, record: dict[str, Any]) -> bool:
    """`{"type": "contact", "authority": ..., "child": ..., "on": ..., "source": ...}`: a contact
    at the front door (Annex A List 1), never a case; True if new (the same child, day and source
    again is the same contact, whatever its key)."""
    from models.fields import parse_iso_date

    unknown = sorted(set(record) - set(CONTACT_FIELDS))
    if unknown:
        raise ValueError(
            f"contact: unknown field {unknown[0]!r}; expected {', '.join(CONTACT_FIELDS)}"
        )
    if isinstance(record.get("child"), dict):
        record = set_child_details(ingest, record)
    authority, child, source = record.get("authority"), record.get("child"), record.get("source")
    if not isinstance(authority, str) or not isinstance(child, str) or not child:
        raise ValueError("contact: expected `authority` and `child` (strings)")
    if not isinstance(source, str):
        raise ValueError("contact: source: expected a DfE referral source code (a string)")
    on = parse_iso_date(record.get("on", ""), field="on")
    return ingest.record_contact(authority=authority, child_ref=child, on=on, source=source)


def import_record(ingest: Recorder, record: dict[str, Any]) -> Accepted:
    """Accept one line's event (address fields and key included); raises if it is refused."""
    from models.cases.lookup import resolve

    if isinstance(record.get("child"), dict):
        record = set_child_details(ingest, record)
    key, case_ref = record.get("key"), record.get("case")
    event = {k: v for k, v in record.items() if k not in ADDRESS_FIELDS}
    if not isinstance(key, str) or not key or len(key) > 128:
        raise ValueError("expected `key` to be a string of 1 to 128 characters")
    if case_ref is not None:
        if "authority" in record or "child" in record:
            raise ValueError("give either `case` or `authority` and `child`, not both")
        if not isinstance(case_ref, str):
            raise ValueError("expected `case` to be a case reference string")
        return ingest.record(case_ref, event, key=key)
    authority, child, team = record.get("authority"), record.get("child"), record.get("team")
    if not isinstance(authority, str) or not isinstance(child, str) or not child:
        raise ValueError("expected `case`, or `authority` and `child` (strings)")
    if team is not None and not isinstance(team, str):
        raise ValueError("expected `team` to be a string")
    ingest.policies.authority(authority)  # an unknown authority is refused by name
    cases = ingest.child_cases(authority=authority, child_ref=child, key=key)
    where = resolve(cases, event_type=str(event.get("type", "event")))
    if where.refused is not None:
        raise ValueError(where.refused)
    if where.opens:
        return ingest.open(authority=authority, child_ref=child, event=event, team=team, key=key)
    assert where.case_ref is not None
    return ingest.record(where.case_ref, event, key=key)  # a duplicate is reported as one
