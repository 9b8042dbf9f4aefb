"""Run by the upgrade test with the PREVIOUS installation's interpreter (`.venv-prefect-old`:
Prefect 3.8.8 and the engine's code on it, Makefile): a live engine on the old server refers
`CASES` cases, records each one's referral decision and works until every case run has
suspended at its next event. Prints the cases' references, one a line.

Only what the old code already had is used here (the Python ingestion API and the worker), as a
council's running installation would have made its runs.
"""

from __future__ import annotations

import sys
from datetime import date

from engine.ingest import Ingest
from engine.worker import work

CASES = 3


def main() -> None:
    import prefect

    assert prefect.__version__ == sys.argv[1], f"expected Prefect {sys.argv[1]}"
    ingest = Ingest.from_settings()
    refs = []
    for n in range(CASES):
        accepted = ingest.refer(
            authority="redbridge",
            child_ref=f"SYNUP{n}",
            on=date(2025, 1, 6),
            source="2A",
            team="east",
        )
        refs.append(accepted.case_ref)
    work(ingest.engine, threads=2, until_idle=True)
    for ref in refs:
        decision = {"type": "referral_decision", "on": "2025-01-07", "outcome": "assessment"}
        ingest.record(ref, decision, key=f"upgrade-{ref}-1")
    work(ingest.engine, threads=2, until_idle=True)
    print("\n".join(refs))  # noqa: T201


if __name__ == "__main__":
    main()
