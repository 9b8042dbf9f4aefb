"""`cin annex-a export`: Ofsted's Annex A lists for one authority as at a date, streamed.

The children come one at a time from the census return's reader (`models.census.source.
child_logs`: ordered queries of cases, events and dated allocations read in step, a batch at a
time); each child's rows are written as soon as they are made, so memory holds one child whatever
the caseload. The workbook is openpyxl's write-only kind (each sheet's rows go to a temporary file
as they are appended); the CSV folder gets one file per list. Every file is written through
`models.output_file.new_file`: created 0600 beside its name and moved into place only when
complete.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine, select
from sqlmodel import col

from models.annex_a import spec
from models.annex_a.contacts import contacts_in
from models.annex_a.period import Period
from models.annex_a.rows import CaseLog, ChildRows, Row, child_rows
from models.census.source import CASE_TEAM, CASE_WORKER, child_logs, details_of
from models.output_file import OutputRefused, check_target, new_file
from models.policy.book import PolicyBook
from models.tables import Case


class NoCases(ValueError):
    """The authority has no case referred by the as-of date (exit 1, nothing written)."""


@dataclass(frozen=True)
class Exported:
    path: Path
    children: int  # children with a row in lists 3 to 7

    rows: dict[str, int]


def annex_rows(engine: Engine, *, authority: str, period: Period) -> Iterator[ChildRows]:
    """Each child's rows of lists 3 to 7, one child at a time."""
    for cases in child_logs(
        engine, authority=authority, reference_date=period.as_of, allocations=True
    ):
        first = cases[0][0]
        logs = [
            CaseLog(row[1], entries, row[2], row[3], row[CASE_TEAM], row[CASE_WORKER])
            for row, entries in cases
        ]
        yield child_rows(first[0], details_of(first), logs, period)


def export_annex_a(
    engine: Engine,
    *,
    policies: PolicyBook,
    authority: str,
    as_of: date,
    out: Path | None = None,
    csv_dir: Path | None = None,
    replace: bool = False,
) -> Exported:
    """The workbook `out`, or one CSV file per list in the folder `csv_dir`."""
    policies.authority(authority)  # an unknown authority: one clear error, before any query
    period = Period(as_of)
    if out is not None:
        check_target(out, option="--out", replace=replace)
        _any_case(engine, authority, as_of)
        return _to_workbook(engine, authority, period, out, replace)
    assert csv_dir is not None
    paths = _csv_paths(csv_dir, replace)
    _any_case(engine, authority, as_of)
    return _to_csv(engine, authority, period, csv_dir, paths, replace)


def _write_all(
    engine: Engine, authority: str, period: Period, append: Callable[[str, Row], None]
) -> tuple[int, dict[str, int]]:
    counts = dict.fromkeys(spec.LISTS, 0)
    children = 0
    for rows in annex_rows(engine, authority=authority, period=period):
        children += bool(rows.lists)  # a child in lists 3 to 7
        for name, found in rows.lists.items():
            for row in found:
                append(name, row)
            counts[name] += len(found)
    for row in contacts_in(engine, authority=authority, period=period):
        append("List 1", row)
        counts["List 1"] += 1
    return children, counts


def _any_case(engine: Engine, authority: str, as_of: date) -> None:
    found = select(col(Case.id)).where(
        col(Case.authority) == authority, col(Case.referral_date) <= as_of
    )
    with engine.connect() as conn:
        if conn.execute(found.limit(1)).first() is None:
            raise NoCases(
                f"--authority: {authority} has no case referred on or before {as_of}; "
                "nothing written"
            )


def _to_workbook(
    engine: Engine, authority: str, period: Period, out: Path, replace: bool
) -> Exported:
    from openpyxl import Workbook  # only this command needs it

    book = Workbook(write_only=True)
    sheets = {}
    for name, headers in spec.LISTS.items():
        sheets[name] = book.create_sheet(title=name)
        sheets[name].append(list(headers))
    with new_file(out, option="--out", replace=replace) as stream:
        try:
            children, counts = _write_all(
                engine, authority, period, lambda name, row: sheets[name].append(row)
            )
            _save(book, stream)
        except BaseException:
            _discard(sheets.values())
            raise
    return Exported(out, children, counts)


def _discard(sheets: Iterable[Any]) -> None:
    """Close a failed workbook's sheet streams now (each writes to a temporary file): left to
    the garbage collector, each printed "Exception ignored ... Traceback" after the command's
    one-line error when the disk was full."""
    for sheet in sheets:
        writer = getattr(sheet, "_writer", None)
        for stream in (getattr(sheet, "_rows", None), getattr(writer, "xf", None)):
            if stream is not None:
                with suppress(Exception):  # the same failure again: the file is discarded
                    stream.close()


def _save(book: Any, stream: IO[bytes]) -> None:
    """openpyxl's `save_workbook`, closing its zip archive when a write fails (a full disk):
    left open, the archive tried again at exit and printed a traceback ("Exception ignored in
    ZipFile.__del__") after the command's one-line error."""
    from zipfile import ZIP_DEFLATED, ZipFile

    from openpyxl.writer.excel import ExcelWriter

    book.properties.modified = datetime.now(UTC).replace(tzinfo=None)  # as openpyxl's save
    archive = ZipFile(stream, "w", ZIP_DEFLATED, allowZip64=True)
    try:
        ExcelWriter(book, archive).save()  # closes the archive when it is written
    except BaseException:
        with suppress(OSError):  # the same failure again: the target is discarded anyway
            archive.close()
        raise


def _csv_paths(folder: Path, replace: bool) -> dict[str, Path]:
    if folder.is_symlink() or not folder.is_dir():
        raise OutputRefused(f"--csv: expected an existing folder; {folder} is not one")
    paths = {name: folder / f"{name}.csv" for name in spec.LISTS}
    for path in paths.values():  # every name checked before anything is read
        check_target(path, option="--csv", replace=replace)
    return paths


def _to_csv(
    engine: Engine,
    authority: str,
    period: Period,
    folder: Path,
    paths: dict[str, Path],
    replace: bool,
) -> Exported:
    with ExitStack() as files:
        writers: dict[str, Any] = {}
        for name, path in paths.items():
            binary: IO[bytes] = files.enter_context(new_file(path, option="--csv", replace=replace))
            text = files.enter_context(_text(binary))
            writers[name] = csv.writer(text)
            writers[name].writerow(spec.LISTS[name])
        children, counts = _write_all(
            engine,
            authority,
            period,
            lambda name, row: writers[name].writerow(["" if v is None else v for v in row]),
        )
    return Exported(folder, children, counts)


@contextmanager
def _text(binary: IO[bytes]) -> Iterator[IO[str]]:
    """UTF-8 text over `binary`, detached (not closed) at the end: `new_file` syncs and closes."""
    text = io.TextIOWrapper(binary, encoding="utf-8", newline="")
    try:
        yield text
    finally:
        text.flush()
        text.detach()
