"""The long run of issue 19's property: many histories from the model of practice
(demo/practice_model.py) through the four councils' real policies, then a
larger census return through the DfE's rules.

1. Lifecycle: `--histories` episodes per council, each event applied with `apply`; every event must
   be accepted, every open deadline must have an event legal that day which meets it, and the
   rebuild from the log must equal the live state.
2. Census: `--children` children (their episodes recorded through the real accept path into a
   fresh SQLite database) make the 2025-26 return; `cin census check`'s path (XSD, the DfE's rules
   in the census venv, the engine's own rule 8869) must find no error, and every query must be one
   docs/practice.md explains.

Prints how many histories, events and DfE rules it tried, and any failure (exit 1).

    python bench/practice_bench.py [--histories 1000] [--children 300] [--seed 19]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from demo.practice_model import (  # noqa: E402
    COUNCILS,
    EXPLAINED_QUERIES,
    Chooser,
    meetable_now,
    practice_children,
    practice_history,
)
from models.lifecycle import EventRefused, apply, initial_state, parse_event, rebuild  # noqa: E402
from models.policy.book import load_policy_dir  # noqa: E402


def lifecycle_run(histories: int, seed: int) -> tuple[int, int, list[str]]:
    book = load_policy_dir(REPO / "policies")
    rng = random.Random(seed)
    choose = Chooser(rng.choice, rng.randint)
    events_tried, failures = 0, []
    for council in COUNCILS:
        policy = book.authority(council)
        for n in range(histories):
            start = date(2019, 1, 7) + timedelta(days=rng.randint(0, 2500))
            history = practice_history(choose, start, transfer_in=rng.random() < 0.08)
            state, log = initial_state(), []
            today = start
            for record in history:
                event = parse_event(record)
                today = max(today, event.on)  # a late entry is recorded today, dated earlier
                events_tried += 1
                try:
                    state = apply(state, event, policy).state
                except EventRefused as refusal:
                    failures.append(f"{council} #{n}: refused {refusal.reason}")
                    break
                log.append(event)
                if state.deadlines:
                    met = meetable_now(state, today, policy)
                    stuck = [d.key for d in state.deadlines if d.key not in met]
                    if stuck:
                        failures.append(f"{council} #{n}: nothing legal meets {stuck}")
            if rebuild(log, policy) != state:
                failures.append(f"{council} #{n}: rebuild differs")
    return histories * len(COUNCILS), events_tried, failures


def census_run(children: int, seed: int) -> tuple[int, int, Counter[str], list[str]]:
    from sqlmodel import Session

    from demo.census_demo import child_details
    from models.cases.store import open_case, record, sync_authorities
    from models.census.check import check_return
    from models.census.child import parse_child
    from models.census.child_store import set_child
    from models.census.year import CensusYear
    from models.database import get_engine, migrate
    from models.settings import get_settings

    book = load_policy_dir(REPO / "policies")
    authority = "redbridge"  # the DfE rules are the same for every council
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/practice.db"
        migrate(url)
        engine = get_engine(url)
        with Session(engine) as session:
            sync_authorities(session, policies=book)
            session.commit()
        events = 0
        for n, episodes in enumerate(practice_children(seed, children)):
            child_ref = f"PRACTICE{n}"
            first_day = date.fromisoformat(episodes[0][0]["on"])
            details = child_details(child_ref, la_code="317", referred=first_day)
            with Session(engine) as session:
                set_child(
                    session, authority=authority, child_ref=child_ref, details=parse_child(details)
                )
                session.commit()
            for history in episodes:
                first, *rest = history
                opened = open_case(
                    engine,
                    policies=book,
                    authority=authority,
                    child_ref=child_ref,
                    event=parse_event(first),
                )
                for item in rest:
                    record(engine, policies=book, case_ref=opened.case_ref, event=parse_event(item))
                events += len(history)
        report = check_return(
            engine,
            policies=book,
            authority=authority,
            year=CensusYear(2026),
            produced_at=datetime(2026, 5, 1, tzinfo=UTC),
            census_python=get_settings().census_python,
        )
        engine.dispose()
    found = Counter(f"{f.level} {f.code}" for f in report.findings)
    failures = [k for k in found if k.startswith("Error")]
    unexplained = [k for k in found if k.startswith("Query")]
    failures += [k for k in unexplained if k.split()[1] not in EXPLAINED_QUERIES]
    return report.children, events, found, failures


def dfe_rule_count() -> int:
    import subprocess

    from models.census.dfe_rules import RULESETS
    from models.settings import get_settings

    code = (
        "import importlib; "
        f"print(len(importlib.import_module('cin_validator.rules.{RULESETS[2026]}').registry))"
    )
    done = subprocess.run(
        [str(get_settings().census_python), "-c", code], capture_output=True, text=True, check=True
    )
    return int(done.stdout.strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--histories", type=int, default=1000, help="per council")
    parser.add_argument("--children", type=int, default=300)
    parser.add_argument("--seed", type=int, default=19)
    args = parser.parse_args()

    began = time.perf_counter()
    histories, events, failures = lifecycle_run(args.histories, args.seed)
    print(
        f"lifecycle: {histories} histories, {events} events, {len(failures)} failures "
        f"({time.perf_counter() - began:.0f} s, loaded machine)"
    )
    began = time.perf_counter()
    children, recorded, found, census_failures = census_run(args.children, args.seed)
    rules = dfe_rule_count()
    print(
        f"census: {children} children in the 2025-26 return from {recorded} events; "
        f"{rules} DfE rules (+ the engine's 8869) tried; findings {dict(found)} "
        f"({time.perf_counter() - began:.0f} s)"
    )
    for failure in failures[:20] + census_failures:
        print("FAIL", failure)
    return 1 if failures or census_failures else 0


if __name__ == "__main__":
    sys.exit(main())
