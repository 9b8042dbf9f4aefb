"""`cin import`'s bulk path gives the database the per-line path gives, row for row (issue 23).

One file (a generated caseload with late entries and re-referrals, and lines of every kind the
import refuses, duplicates, child details and case-addressed lines) is imported line by line into
one new database and in chunks into another, on SQLite and on PostgreSQL; then both are imported
again (everything a duplicate). The two databases must hold the same rows in every table, with only
generated ids (replaced by the case reference they point to) and timestamps (kept as set or not
set) left out, and the command must print the same counts and the same refusals.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import Session, SQLModel

import cli.import_bulk
from demo.caseload import generate_caseload, to_jsonl
from models.policy.book import PolicyBook
from models.runtime import case_engine
from tests.cli.cli_harness import cin, point_at
from tests.conftest import _postgres_database

AUTHORITIES = ["redbridge", "warwickshire", "stockton-on-tees", "redcar-and-cleveland"]


@pytest.fixture(params=["sqlite", "postgresql"])
def two_urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two new, empty databases of one kind: one per path."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/per-line.db", f"sqlite:///{tmp_path}/bulk.db"
        return
    first, second = _postgres_database(), _postgres_database()
    try:
        yield next(first), next(second)
    finally:
        for database in (first, second):
            database.close()


def child(ref: str, **event: Any) -> dict[str, Any]:
    return {"authority": "redbridge", "child": ref, "team": "redbridge-east", **event}


def extra_lines() -> list[Any]:
    """Lines of every kind the import refuses or counts apart, among accepted ones."""
    referral = child("EQ1", type="referral_received", on="2025-01-06", source="6")
    visit = {"case": "RED-000001", "type": "visit_recorded", "on": "2025-02-03", "key": "k-1"}
    return [
        referral,
        '{"authority": "redbridge", "child": ',  # malformed JSON
        ["not", "an", "object"],
        child("EQ1", type="tea_break", on="2025-01-07"),  # unknown event type
        child("EQ1", type="review_held", on="2025-01-07", outcome="continue"),  # illegal here
        {**referral, "authority": "atlantis"},  # unknown authority
        {"case": "RED-999999", "type": "visit_recorded", "on": "2025-01-07"},  # unknown case
        child("EQ2", type="visit_recorded", on="2025-01-07"),  # no open case for the child
        child("EQ1", type="referral_received", on="2025-01-08", source="6"),  # already open
        referral,  # a duplicate of the first line
        child("EQ1", type="referral_decision", on="2025-01-07", outcome="assessment"),
        child("EQ1", type="assessment_started", on="2025-01-09"),
        child("EQ1", type="visit_recorded", on="2025-01-08"),  # late: placed in date order
        child("EQ1", type="visit_recorded", on="2025-01-01"),  # before the case opened
        child("EQ1", type="visit_recorded", on="2025-07-01"),  # after today
        visit,
        visit,  # the same key and record: a duplicate
        {**visit, "on": "2025-02-04"},  # the same key, another record: refused
        {**visit, "key": "k-2", "authority": "redbridge", "child": "X"},  # both addresses
        {"case": 7, "type": "visit_recorded", "on": "2025-02-03"},  # not a reference
        {
            "authority": "redbridge",
            "child": {
                "ref": "EQ1",
                "sex": "F",
                "ethnicity": "WBRI",
                "dob": "2015-03-01",
                "upn_unknown": "UN1",
            },
        },
        {"authority": "redbridge", "child": {"ref": "EQ3", "sex": "Q", "ethnicity": "WBRI"}},
        {
            "authority": "redbridge",
            "child": {
                "ref": "EQ4",
                "sex": "M",
                "ethnicity": "WBRI",
                "dob": "2016-05-01",
                "upn_unknown": "UN2",
            },
            "team": "redbridge-east",
            "type": "transfer_in",
            "on": "2025-01-10",
        },
        child("EQ1", type="referral_decision", on="2025-01-07", outcome="nfa", key="k-3"),
        child("EQ5", type="referral_received", on="2025-01-06", source="6", key="k" * 129),
        child("EQ5", type="referral_received", on="2025-01-06", source="6", team=5),
        *drifting_case_with_late_entries("EQ6"),
        # contacts at the front door (issue 22): new, the same again, a refused source, another
        contact := {"type": "contact", "authority": "redbridge", "child": "EQ7",
                    "on": "2025-01-06", "source": "1A"},
        contact,
        {**contact, "source": "ZZ"},
        {**contact, "child": "EQ8", "on": "2025-01-07"},
    ]  # fmt: skip


def drifting_case_with_late_entries(ref: str) -> list[dict[str, Any]]:
    """A plan reviewed "continue" again and again (drift), with entries recorded late."""
    review = {"type": "review_held", "outcome": "continue", "chair": "social_worker"}
    return [
        child(ref, type="referral_received", on="2025-01-06", source="6"),
        child(ref, type="referral_decision", on="2025-01-07", outcome="assessment"),
        child(ref, type="assessment_started", on="2025-01-08"),
        child(ref, type="visit_recorded", on="2025-01-20"),
        # late, and it changes the deadlines: "recorded late on"
        child(
            ref, type="assessment_completed", on="2025-01-15", outcome="cin_plan", factors=["3B"]
        ),
        child(ref, type="cin_meeting_held", on="2025-01-27"),
        child(ref, type="plan_distributed", on="2025-01-30"),
        child(ref, on="2025-03-10", **review),
        child(ref, on="2025-04-10", **review),
        child(ref, on="2025-05-10", **review),
        child(ref, on="2025-05-20", **review),
        child(ref, on="2025-04-20", **review),  # late
        child(ref, type="referral_decision", on="2025-01-07", outcome="nfa"),  # late, illegal
    ]


def lines_file(folder: Path, book: PolicyBook) -> Path:
    records = generate_caseload(
        authorities=AUTHORITIES,
        cases=60,
        start=date(2024, 4, 1),
        days=300,
        seed=23,
        policies=book,
    )
    text = to_jsonl(records)
    lines = text.splitlines()
    extra = [x if isinstance(x, str) else json.dumps(x) for x in extra_lines()]
    # the extra lines between the caseload's, so chunks hold both
    # (the first opens RED-000001, which the case-addressed lines name)
    mixed = extra[:12] + lines[:200] + extra[12:] + lines[200:]
    path = folder / "caseload.jsonl"
    path.write_text("\n".join(mixed) + "\n", encoding="utf-8")
    return path


def database_rows() -> dict[str, list[str]]:
    """Every row of every table, generated ids as the case they belong to, timestamps as set."""
    with Session(case_engine()) as session:
        refs = {
            row.id: row.case_ref
            for row in session.execute(select(SQLModel.metadata.tables["case"]))
        }
        tables = {}
        for table in SQLModel.metadata.sorted_tables:
            rows = []
            for row in session.execute(select(table)):
                values = {}
                for name, value in row._mapping.items():
                    if name == "id" and isinstance(value, uuid.UUID):
                        continue  # generated
                    if name == "case_id" or (table.name == "case" and name == "flow_run_id"):
                        value = refs.get(value, value)
                    if isinstance(value, datetime):
                        value = "set"
                    values[name] = value
                rows.append(repr(sorted(values.items())))
            tables[table.name] = sorted(rows)
    return tables


def import_into(
    url: str, path: Path, folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, *more: str
) -> tuple[int, str, str]:
    point_at(monkeypatch, url, folder)
    done = cin(capsys, "import", str(path), "--no-deliver", "--no-progress", *more)
    return done.status, done.out, done.err


def test_bulk_and_per_line_imports_give_the_same_database(
    two_urls: tuple[str, str],
    tmp_path: Path,
    book: PolicyBook,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    per_line_url, bulk_url = two_urls
    path = lines_file(tmp_path, book)
    # small chunks: a child's lines fall in several, and each chunk holds several children
    monkeypatch.setattr(cli.import_bulk, "CHUNK_LINES", 37)
    outputs = []
    for round_ in ("first", "again"):
        per_line = import_into(
            per_line_url, path, tmp_path / "a", monkeypatch, capsys, "--per-line"
        )
        per_line_rows = database_rows()
        bulk = import_into(bulk_url, path, tmp_path / "b", monkeypatch, capsys)
        bulk_rows = database_rows()
        assert bulk == per_line, round_
        outputs.append(bulk)
        assert per_line[0] == 1 and "refused" in per_line[1]
        for table in per_line_rows:
            if table == "engine_instance":  # each database's own id: one row each
                assert len(bulk_rows[table]) == len(per_line_rows[table]) == 1
                continue
            assert bulk_rows[table] == per_line_rows[table], f"{round_}: table {table} differs"
    summary = per_line[1].splitlines()[-1]
    # again: every event a duplicate; the line of child details alone is set again
    assert summary.startswith("imported ") and " 1 accepted, " in summary
    assert len(per_line_rows["case_event"]) > 300 and len(per_line_rows["deadline"]) > 100
    assert any("recorded late on" in row for row in per_line_rows["deadline"]), "late entries"
    assert per_line_rows["drift"], "drift opened"
    assert any("'re_referral', True" in row for row in per_line_rows["case"]), "re-referrals"
    assert len(per_line_rows["child"]) == 2, "the child details lines were written"
    # the refusals of the extra lines, the same from both paths, one of each kind
    for words in (
        "malformed JSON",
        "expected a JSON object",
        "tea_break",
        "refused at stage referral",
        "unknown authority 'atlantis'",
        "no case 'RED-999999'",
        "no open case",
        "already has an open case",
        "refused: expected a date on or after the case opened",
        "expected a date on or before today",
        "idempotency key 'k-1' was already used",
        "give either `case` or `authority` and `child`",
        "expected `case` to be a case reference string",
        "sex",
        "expected `key` to be a string of 1 to 128 characters",
        "expected `team` to be a string",
        "is earlier than the case's latest event",
    ):
        assert words in outputs[0][2], words


def write_between() -> None:
    """Another writer between two chunks: an event on a case the import holds, and the
    monitor's marks (escalation levels, missed) on open deadlines of every case."""
    from sqlalchemy import update
    from sqlmodel import col

    from engine.ingest import Ingest
    from models.tables import Deadline

    ingest = Ingest.from_settings(deliver=False)
    ingest.record("RED-000001", {"type": "visit_recorded", "on": "2025-01-10"}, key="between")
    with Session(case_engine()) as session:
        opened = col(Deadline.status) == "open"
        session.execute(update(Deadline).where(opened).values(escalation_level=1))
        late = opened & (col(Deadline.due) < date(2024, 12, 1))
        session.execute(update(Deadline).where(late).values(status="missed"))
        session.commit()


def test_cases_written_between_chunks_are_read_again(
    two_urls: tuple[str, str],
    tmp_path: Path,
    book: PolicyBook,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The bulk path carries a chunk's cases to the next; a case another writer changed in
    between is read again, so the result is the per-line path's with the same write between."""
    per_line_url, bulk_url = two_urls
    path = lines_file(tmp_path, book)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    first, rest = tmp_path / "first.jsonl", tmp_path / "rest.jsonl"
    first.write_text("".join(lines[:37]), encoding="utf-8")
    rest.write_text("".join(lines[37:]), encoding="utf-8")
    import_into(per_line_url, first, tmp_path / "a", monkeypatch, capsys, "--per-line")
    write_between()
    import_into(per_line_url, rest, tmp_path / "a", monkeypatch, capsys, "--per-line")
    expected = database_rows()

    monkeypatch.setattr(cli.import_bulk, "CHUNK_LINES", 37)
    chunk, chunks = cli.import_bulk.import_chunk, []

    def chunk_then_write(ingest: Any, lines: Any, carry: Any = None) -> Any:
        done = chunk(ingest, lines, carry)
        chunks.append(done[1] is not None)  # carried: the chunk was taken in bulk
        if len(chunks) == 1:
            write_between()
        return done

    monkeypatch.setattr(cli.import_bulk, "import_chunk", chunk_then_write)
    import_into(bulk_url, path, tmp_path / "b", monkeypatch, capsys)
    got = database_rows()
    assert len(chunks) >= 10 and all(chunks)
    assert any("'escalation_level', 1" in row for row in got["deadline"])
    assert any("'idempotency_key', 'between'" in row for row in got["case_event"])
    for table in expected:
        if table != "engine_instance":
            assert got[table] == expected[table], f"table {table} differs"
