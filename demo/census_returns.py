"""The demo's last step: each council's census return for the year, exported and checked.

The children's details are recorded once, before the year is played (`record_children`), and
each caseload record is sent as the recording system would (`send_record`). At the end each
authority's return is written under data/census/ (readable by its owner only) and the DfE's rules
are run on it (`census_returns`), as a council would before the return is due.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from demo.caseload import CaseloadRecord
from demo.census_demo import child_details
from engine.ingest import Ingest

if TYPE_CHECKING:
    from models.census.year import CensusYear


def record_children(ingest: Ingest, records: Sequence[CaseloadRecord]) -> int:
    """Set the census details of every child in the caseload; returns how many."""
    first: dict[tuple[str, str], CaseloadRecord] = {}
    for record in records:
        first.setdefault((record.authority, record.child_ref), record)
    for (authority, child_ref), record in first.items():
        la_code = ingest.policies.authority(authority).policy.dfe_la_code or "999"
        details = child_details(child_ref, la_code=la_code, referred=record.on)
        # checked as of the referral, when the details were first known (an expected date of
        # birth was still to come then)
        ingest.set_child(authority=authority, child_ref=child_ref, details=details, as_of=record.on)
    return len(first)


def send_record(ingest: Ingest, record: CaseloadRecord, case_refs: dict[str, str]) -> str | None:
    """Send one caseload record: its case's first opens the case (`case_refs` learns its
    reference, which is returned), the rest are recorded on it. A refusal raises `EventRefused`."""
    if record.case_key in case_refs:
        ingest.record(case_refs[record.case_key], record.event, key=record.key)
        return None
    case_ref = ingest.open(
        authority=record.authority, child_ref=record.child_ref, event=record.event,
        team=record.team, key=record.key,
    ).case_ref  # fmt: skip
    case_refs[record.case_key] = case_ref
    return case_ref


def census_returns(
    ingest: Ingest, authorities: Sequence[str], *, year: int, folder: Path
) -> list[str]:
    """Export and check each authority's return; the lines to print, in `authorities`' order.
    Two authorities at a time: most of a check is the DfE rules' own Python, a process of its
    own, so two of them use both cores of a small machine."""
    from models.census.year import CensusYear

    folder.mkdir(parents=True, exist_ok=True)
    census = CensusYear(year)
    lines = [f"census returns for {census.start} to {census.reference_date} (checked early):"]
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="census") as pool:
        for done in pool.map(lambda a: _one_return(ingest, a, census, folder), authorities):
            lines.extend(done)
    return lines


def _one_return(ingest: Ingest, authority: str, census: CensusYear, folder: Path) -> list[str]:
    from models.census.check import check_return
    from models.census.export import export_return
    from models.settings import get_settings

    now = datetime.now(UTC)
    out = folder / f"{authority}-{census.year}.xml"
    # the demo's own returns: a second `make demo` replaces the last one's (a regular file)
    done = export_return(ingest.engine, policies=ingest.policies, authority=authority,
                         year=census, out=out, produced_at=now, replace=True)  # fmt: skip
    report = check_return(ingest.engine, policies=ingest.policies, authority=authority,
                          year=census, produced_at=now,
                          census_python=get_settings().census_python)  # fmt: skip
    queries = len(report.findings) - report.errors
    lines = [
        f"  {authority:22} {done.children:4} children, {len(done.omitted)} left out; "
        f"DfE rules: {report.errors} errors, {queries} queries -> {out.name}"
    ]
    for code, level, count, message in report.by_rule():
        lines.append(f"      rule {code:6} {level:5} {count:4}  {message[:80]}")
    return lines
