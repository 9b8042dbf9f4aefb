"""`cin annex-a export` on hand-built histories, on SQLite and PostgreSQL: every cell of every
list against a hand count, the workbook's sheets and headers as liiatools' spec has them."""

from __future__ import annotations

import csv
import stat
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from models.annex_a import spec
from models.annex_a.export import NoCases, export_annex_a
from models.output_file import OutputRefused
from tests.models.annex_a.histories import AS_OF, EXPECTED, STORIES, record_all
from tests.models.census.histories import AUTHORITY


def _record(engine, book):
    record_all(engine, book)


def _cells(value: object) -> object:
    return value.date() if isinstance(value, datetime) else value


def _sheets(path) -> dict[str, list[list[object]]]:
    workbook = load_workbook(path, read_only=True)
    return {
        ws.title: [[_cells(c) for c in row] for row in ws.iter_rows(values_only=True)]
        for ws in workbook.worksheets
    }


def _key(row: list[object]) -> tuple[str, ...]:
    return tuple(str(c) for c in row)


def test_every_cell_of_every_list_is_the_hand_count(engine, book, tmp_path):
    _record(engine, book)
    out = tmp_path / "annex-a.xlsx"
    done = export_annex_a(engine, policies=book, authority=AUTHORITY, as_of=AS_OF, out=out)

    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    sheets = _sheets(out)
    assert list(sheets) == list(spec.LISTS)  # List 1 ... List 11, in order
    for name, headers in spec.LISTS.items():
        assert sheets[name][0] == list(headers), name
        expected = EXPECTED.get(name, [])
        assert sorted(sheets[name][1:], key=_key) == sorted(expected, key=_key), name
    assert done.children == sum(1 for story in STORIES if story.episodes)
    assert done.rows == {name: len(EXPECTED.get(name, [])) for name in spec.LISTS}


def test_dates_are_dates_and_csv_says_the_same(engine, book, tmp_path):
    _record(engine, book)
    out = tmp_path / "annex-a.xlsx"
    export_annex_a(engine, policies=book, authority=AUTHORITY, as_of=AS_OF, out=out)
    workbook = load_workbook(out, read_only=True)
    start = next(workbook["List 7"].iter_rows(min_row=2, values_only=True))[6]
    assert isinstance(start, datetime) and start.date() == date(2025, 10, 22)

    folder = tmp_path / "csv"
    folder.mkdir()
    export_annex_a(engine, policies=book, authority=AUTHORITY, as_of=AS_OF, csv_dir=folder)
    sheets = _sheets(out)
    for name in spec.LISTS:
        path = folder / f"{name}.csv"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        as_text = [["" if c is None else str(c) for c in row] for row in sheets[name]]
        assert rows[0] == as_text[0]
        assert sorted(rows[1:]) == sorted(as_text[1:]), name


def test_refusals_write_nothing(engine, book, tmp_path):
    _record(engine, book)
    existing = tmp_path / "there.xlsx"
    existing.write_bytes(b"keep")
    with pytest.raises(OutputRefused, match="--out: .* exists"):
        export_annex_a(engine, policies=book, authority=AUTHORITY, as_of=AS_OF, out=existing)
    assert existing.read_bytes() == b"keep"
    with pytest.raises(OutputRefused, match="is a folder"):
        export_annex_a(engine, policies=book, authority=AUTHORITY, as_of=AS_OF, out=tmp_path)
    empty = tmp_path / "empty.xlsx"
    with pytest.raises(NoCases, match="--authority: warwickshire has no case"):
        export_annex_a(engine, policies=book, authority="warwickshire", as_of=AS_OF, out=empty)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("cin.db")) == [
        "there.xlsx"
    ]
