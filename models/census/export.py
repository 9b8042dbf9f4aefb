"""`cin census export`: the year's return for one authority, streamed to a private file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine

from models.census.rowmap import RowMap
from models.census.source import Omission, Omissions, children_for_year
from models.census.writer import Header, write_return
from models.census.year import CensusYear
from models.output_file import new_file
from models.policy.book import PolicyBook


@dataclass(frozen=True)
class Exported:
    path: Path
    children: int
    omitted: list[Omission]


def export_return(
    engine: Engine,
    *,
    policies: PolicyBook,
    authority: str,
    year: CensusYear,
    out: Path,
    produced_at: datetime,
    rows: RowMap | None = None,
    replace: bool = False,
) -> Exported:
    la_code = policies.authority(authority).policy.dfe_la_code
    if la_code is None:
        raise ValueError(
            f"policies/{authority}.yaml: expected dfe_la_code, the DfE's three-digit LA number"
        )
    omissions = Omissions()
    header = Header(year, la_code, produced_at)
    with new_file(out, option="--out", replace=replace) as stream:
        children = children_for_year(engine, authority=authority, year=year, omissions=omissions)
        written = write_return(stream, header, children, rows)
        if written == 0:  # the DfE's XSD needs one <Child> at least: refuse, and keep no file
            raise ValueError(
                f"{authority}: no child in the return for {year.start} to {year.reference_date} "
                "(the DfE schema needs at least one); nothing written"
            )
    return Exported(out, written, omissions.items)
