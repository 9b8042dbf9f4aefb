"""`cin import`'s bulk path: many lines a transaction, each through the same checks.

The file is read in chunks of `CHUNK_LINES` lines, in file order. For each chunk, one transaction
locks and reads the cases its lines name (`models.cases.bulk.CaseBatch`), takes every line through
`cli.import_lines.import_line` exactly as the per-line path does (the same parsing, routing,
lifecycle, refusals and messages), and writes what the accepted lines changed in a few
set-at-a-time statements. A chunk the batch cannot mirror (a row the database would refuse) is
rolled back and accepted line by line instead, so a line the database refuses is refused alone,
as before. `--per-line` keeps the old path; the two give the same database
(`tests/cli/test_import_bulk.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from cli.import_lines import Tally, import_line, parse_line

if TYPE_CHECKING:
    from engine.ingest import Ingest
    from models.cases.bulk import Carry, CaseBatch
    from models.cases.lookup import ChildCase
    from models.cases.store import Accepted
    from models.policy.book import PolicyBook

CHUNK_LINES = 5000  # lines a transaction: ~3 s of work; cases held locked for that long

NumberedLine = tuple[int, str]


class BulkRecorder:
    """`Ingest`'s calls that `import_line` makes, answered by a batch held in memory."""

    def __init__(self, batch: CaseBatch, today: date) -> None:
        self.batch = batch
        self.today = today

    @property
    def policies(self) -> PolicyBook:
        return self.batch.policies

    def record(self, case_ref: str, event: Mapping[str, Any], key: str | None = None) -> Accepted:
        from models.lifecycle import parse_event

        return self.batch.record(case_ref=case_ref, event=parse_event(event), key=key)

    def open(
        self,
        *,
        authority: str,
        child_ref: str,
        event: Mapping[str, Any],
        team: str | None = None,
        key: str | None = None,
    ) -> Accepted:
        from models.lifecycle import parse_event

        parsed = parse_event(event)
        return self.batch.open_case(
            authority=authority, child_ref=child_ref, event=parsed, key=key, team=team
        )

    def set_child(self, *, authority: str, child_ref: str, details: Mapping[str, Any]) -> bool:
        """`Ingest.set_child`, in the chunk's transaction."""
        from models.census.child import parse_child
        from models.census.child_store import set_child

        parsed = parse_child(dict(details), today=self.today)
        return set_child(
            self.batch.session, authority=authority, child_ref=child_ref, details=parsed
        )

    def child_cases(self, *, authority: str, child_ref: str, key: str) -> list[ChildCase]:
        return self.batch.child_cases(authority=authority, child_ref=child_ref, key=key)

    def record_contact(self, *, authority: str, child_ref: str, on: date, source: str) -> bool:
        """`Ingest.record_contact`, in the chunk's transaction."""
        from models.cases.contacts import add_contact

        self.policies.authority(authority)  # an unknown authority: the known ones named
        return add_contact(self.batch.session, authority=authority, child_ref=child_ref, on=on,
                           source=source, today=self.today)  # fmt: skip


def import_lines(
    ingest: Ingest,
    lines: Sequence[NumberedLine],
    tally: Tally,
    advance: Callable[[int], None],
    *,
    per_line: bool = False,
) -> None:
    """Import `lines` in file order: in chunks, or with `per_line` one transaction a line."""
    if per_line:
        for number, text in lines:
            import_line(ingest, number, text, tally)
            advance(1)
        return
    carry: Carry | None = None
    for start in range(0, len(lines), CHUNK_LINES):
        chunk = lines[start : start + CHUNK_LINES]
        part, carry = import_chunk(ingest, chunk, carry)
        tally.merge(part)
        advance(len(chunk))


def import_chunk(
    ingest: Ingest, chunk: Sequence[NumberedLine], carry: Carry | None = None
) -> tuple[Tally, Carry | None]:
    """One chunk in one transaction, and the cases it leaves for the next (`Carry`); line by
    line if the batch cannot mirror it (and then nothing is carried)."""
    from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
    from sqlmodel import Session

    from models.cases.bulk import CaseBatch, NeedsPerEvent
    from models.runtime import clock

    today = clock().today()
    tally = Tally()
    try:
        with Session(ingest.engine, expire_on_commit=False) as session:
            batch = CaseBatch(session, policies=ingest.policies, today=today, carry=carry)
            carry = None  # the batch changes the carried cases: they are good only once written
            batch.load(**_addresses(chunk))
            recorder = BulkRecorder(batch, today)
            for number, text in chunk:
                import_line(recorder, number, text, tally)
            written = batch.write()
            session.commit()
        return tally, written
    except (OperationalError, InterfaceError):
        raise  # the database cannot be used at all: the import stops (exit 3)
    except (NeedsPerEvent, SQLAlchemyError):
        pass  # rolled back: nothing of the chunk was written
    tally = Tally()
    for number, text in chunk:
        import_line(ingest, number, text, tally)
    return tally, None


def _addresses(chunk: Sequence[NumberedLine]) -> dict[str, Any]:
    """The children and case references a chunk's lines name (the cases to lock and read)."""
    children: set[tuple[str, str]] = set()
    case_refs: set[str] = set()
    for _, text in chunk:
        try:
            record = parse_line(text)
        except ValueError:
            continue
        case_ref, authority, child = (
            record.get("case"),
            record.get("authority"),
            record.get("child"),
        )
        if isinstance(child, dict):
            child = child.get("ref")
        if isinstance(case_ref, str):
            case_refs.add(case_ref)
        if isinstance(authority, str) and isinstance(child, str):
            children.add((authority, child))
    return {"children": children, "case_refs": case_refs}
