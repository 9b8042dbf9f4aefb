"""The child's reference is the census return's LAchildID (issue 19 point 13): letters and digits,
at most 20 (csc-validator-be-cin 0.1.13, cin_validator/rules/cin2024_25/rule_1580.py "LA Child ID
must not contain any non-alphanumeric characters", rule_1570.py "... must not be longer than 20
characters"). New references are refused on every path by models/fields.py CHILD_REF; one already
held (a log migrated from an earlier system) is named by `cin census check`, by case only."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine, text

from engine.ingest import Ingest
from models.access.holds import add_hold
from models.census.check import check_return
from models.census.year import CensusYear
from models.fields import FieldRefused, check_child_ref
from models.policy.book import PolicyBook
from models.settings import get_settings
from tests.models.census.caseload import planned
from tests.models.census.histories import AUTHORITY, Story, child, record_story, upn_for

REFUSED = ["C-1", "C/2025/17", "C.1", "C_1", "C 1", "Ç1", "A" * 21]


@pytest.mark.parametrize("ref", REFUSED)
def test_a_reference_the_dfe_would_reject_is_refused_in_one_line(ref: str) -> None:
    with pytest.raises(FieldRefused) as refused:
        check_child_ref(ref)
    message = str(refused.value)
    assert message.startswith("child: expected 1 to 20 characters (letters and digits only")
    assert "rules 1570 and 1580" in message and "\n" not in message
    assert ref not in message


def test_letters_and_digits_up_to_20_are_taken() -> None:
    for ref in ("C1", "SYN000001", "a" * 20, "20250417"):
        assert check_child_ref(ref) == ref


def test_the_python_ingest_refuses_it_and_changes_nothing(engine: Engine, book: PolicyBook) -> None:
    ingest = Ingest(engine, book, deliver=False)
    with pytest.raises(FieldRefused, match="rules 1570 and 1580"):
        ingest.refer(authority=AUTHORITY, child_ref="C-1", on=date(2025, 6, 2))
    with engine.connect() as conn:
        assert conn.execute(text('SELECT COUNT(*) FROM "case"')).scalar() == 0


def test_census_check_names_the_case_of_a_reference_already_held(
    engine: Engine, book: PolicyBook
) -> None:
    refs = record_story(
        engine,
        book,
        Story("LEGACY1", child(upn=upn_for(31)), [planned("2025-05-01", "2025-05-02",
                                                          "2025-06-02", "2025-06-16")]),
    )  # fmt: skip
    with engine.begin() as conn:  # as a log migrated from an earlier system holds it
        for table in ("case", "child"):
            conn.execute(text(f"UPDATE \"{table}\" SET child_ref = 'LEG-ACY/1'"))
    report = check_return(engine, policies=book, authority=AUTHORITY, year=CensusYear(2026),
                          produced_at=datetime(2026, 5, 1, tzinfo=UTC),
                          census_python=get_settings().census_python)  # fmt: skip
    named = [(f.case_ref, f.level, f.field) for f in report.findings if f.code == "1580"]
    assert named == [(refs[0], "Error", "ChildIdentifiers.LAchildID")]
    assert all("LEG-ACY/1" not in f"{f.message} {f.correct}" for f in report.findings)


def test_a_child_held_under_an_older_reference_can_still_be_put_on_hold(
    engine: Engine, book: PolicyBook
) -> None:
    """A legal hold names a child already on record: an older reference (`LEG-ACY/1`, from a
    log migrated before rule 1580 was enforced) is taken there, while a new child is refused."""
    record_story(
        engine,
        book,
        Story("LEGACY2", child(upn=upn_for(32)), [planned("2025-05-01", "2025-05-02",
                                                          "2025-06-02", "2025-06-16")]),
    )  # fmt: skip
    with engine.begin() as conn:
        for table in ("case", "child"):
            conn.execute(text(f"UPDATE \"{table}\" SET child_ref = 'LEG-ACY/1'"))
    hold = add_hold(engine, authority=AUTHORITY, child_ref="LEG-ACY/1", reason="litigation",
                    by="tm1")  # fmt: skip
    assert hold.child_ref == "LEG-ACY/1"
    with pytest.raises(FieldRefused, match="rules 1570 and 1580"):
        Ingest(engine, book, deliver=False).refer(
            authority=AUTHORITY, child_ref="LEG-ACY/1", on=date(2025, 6, 2)
        )
