"""Social Finance's own Annex A cleaner (liiatools 0.2.0, `annex-a cleanfile`, in the venv of its
own that `make` builds: .venv-annex-a) reads `cin annex-a export`'s workbook and logs no error; it
keeps every code as we wrote it (each is already in its spec's form); and it does log a workbook
with a planted mistake, so its silence means something. The spec copied into models/annex_a/spec.py
is checked against the installed liiatools' own YAML."""

from __future__ import annotations

import json
import subprocess
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlmodel import Session

from models.annex_a import spec
from models.annex_a.export import export_annex_a
from models.cases.store import sync_authorities
from tests.models.annex_a.histories import AS_OF, record_all
from tests.models.census.histories import AUTHORITY

REPO = Path(__file__).resolve().parents[3]
PYTHON = REPO / ".venv-annex-a" / "bin" / "python"
LA_CODE = "RED"  # liiatools/spec/common/LA-codes.yml: Redbridge
CLEAN = (
    "import sys; from liiatools.datasets.annex_a.annex_a_cli import annex_a; annex_a(sys.argv[1:])"
)
SPEC = """
import json, yaml
from pathlib import Path
import liiatools.spec.annex_a as pkg
folder = Path(pkg.__file__).parent
merge = yaml.safe_load((folder / "annex-a-merge.yml").read_text())["datasources"]
data = yaml.safe_load((folder / "data-map.yml").read_text())["data_config"]
codes = {s: {c: [i["code"] for i in v] for c, v in cols.items()} for s, cols in data.items()}
print(json.dumps({"headers": {s: list(cols) for s, cols in merge.items()}, "codes": codes}))
"""


def clean(workbook: Path, folder: Path) -> tuple[list[str], Path]:
    """Run the cleaner; its error logs' text, and the cleaned workbook."""
    logs, out = folder / "logs", folder / "out"
    logs.mkdir()
    out.mkdir()
    subprocess.run(
        [str(PYTHON), "-c", CLEAN, "cleanfile", "--i", str(workbook), "--la_code", LA_CODE,
         "--la_log_dir", str(logs), "--o", str(out)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    cleaned = out / f"{workbook.stem}_clean.xlsx"
    assert cleaned.exists()
    return [p.read_text() for p in sorted(logs.iterdir())], cleaned


def _rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    book = load_workbook(path, read_only=True)
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in book.worksheets}


def _day(value: object) -> object:
    return value.date() if isinstance(value, datetime) else value


def test_the_spec_copied_is_liiatools_own():
    done = subprocess.run([str(PYTHON), "-c", SPEC], check=True, capture_output=True, text=True)
    theirs = json.loads(done.stdout)
    assert theirs["headers"] == {name: list(h) for name, h in spec.LISTS.items()}
    codes = theirs["codes"]
    assert set(spec.GENDER.values()) <= set(codes["List 3"]["Gender"])
    assert set(spec.ETHNICITY.values()) <= set(codes["List 3"]["Ethnicity"])
    assert set(spec.SOURCE.values()) == set(codes["List 1"]["Contact Source"])
    assert {spec.YES, spec.NO, spec.UNKNOWN} == set(codes["List 3"]["Referral NFA?"])
    assert set(spec.NEED.values()) == set(codes["List 6"]["Primary Need Code"])
    # RC9 is the DfE's, newer than liiatools 0.2.0's list (docs/census-and-annex-a.md)
    assert set(spec.CLOSURE.values()) - set(codes["List 6"]["Reason for Closure"]) == {
        spec.CLOSURE["RC9"]
    }
    statuses = {spec.CP_PLAN, spec.CIN_PLAN, spec.OPEN_ASSESSMENT, spec.CLOSED_EPISODE}
    assert statuses <= set(codes["List 6"]["Case status"])
    assert set(spec.CATEGORY.values()) == set(codes["List 7"]["Initial Category of Abuse"])


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the export: test_lists.py, both
def test_the_cleaner_logs_no_error_and_keeps_every_code(engine, book, tmp_path):
    record_all(engine, book)
    workbook = tmp_path / "histories.xlsx"
    export_annex_a(engine, policies=book, authority=AUTHORITY, as_of=AS_OF, out=workbook)

    logs, cleaned = clean(workbook, tmp_path)

    assert logs == []
    ours, theirs = _rows(workbook), _rows(cleaned)
    assert list(theirs) == list(spec.LISTS)
    for name, headers in spec.LISTS.items():
        assert list(theirs[name][0]) == [*headers, "LA"]
        assert len(theirs[name]) == len(ours[name]), name
        kept = [i for i, h in enumerate(headers) if h not in ("Child Unique ID", "Date of Birth")]
        for mine, cleaned_row in zip(ours[name][1:], theirs[name][1:], strict=True):
            assert [_day(mine[i]) for i in kept] == [_day(cleaned_row[i]) for i in kept], name
            assert cleaned_row[0] == f"{mine[0]}_{LA_CODE}"  # its own LA-qualified child id


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_demo_caseload_passes_the_cleaner(engine, book, tmp_path):
    from demo.caseload import generate_caseload
    from demo.census_returns import record_children, send_record
    from demo.demo import AUTHORITIES, DAYS, START
    from engine.ingest import Ingest

    records = generate_caseload(authorities=AUTHORITIES, cases=60, start=START, days=DAYS,
                                seed=7, policies=book)  # fmt: skip
    ingest = Ingest(engine, book, deliver=False)
    with Session(engine) as session:
        sync_authorities(session, policies=book)
    record_children(ingest, records)
    cases: dict[str, str] = {}
    for record in records:
        send_record(ingest, record, cases)
    as_of = START + timedelta(days=DAYS - 1)  # the demo's last day
    workbook = tmp_path / "redbridge.xlsx"
    done = export_annex_a(engine, policies=book, authority="redbridge", as_of=as_of, out=workbook)
    assert done.children > 0 and done.rows["List 6"] > 0

    logs, _ = clean(workbook, tmp_path)

    assert logs == []


def test_the_cleaner_does_log_a_mistake(tmp_path):
    """A blank Allocated Team (the spec forbids it) and a gender outside the spec's codes."""
    book = Workbook()
    book.remove(book.active)
    for name, headers in spec.LISTS.items():
        sheet = book.create_sheet(name)
        sheet.append(list(headers))
    row = ["C1", "Z", "a) WBRI", date(2015, 1, 1), 11, date(2026, 1, 5), "q) 6: Police",
           "b) No", 1, None, "W1"]  # fmt: skip
    book["List 3"].append(row)
    workbook = tmp_path / "mistake.xlsx"
    book.save(workbook)

    logs, _ = clean(workbook, tmp_path)

    assert len(logs) == 1
    assert "List 3" in logs[0] and "Allocated Team" in logs[0] and "Gender" in logs[0]
