"""`make demo`: the engine at work on a simulated year of four councils' caseloads.

1. explains a few real deadlines under the seed authorities' policies;
2. starts a local Prefect server on SQLite under data/prefect (UI on http://127.0.0.1:4200);
3. plays a synthetic caseload week by week on a simulated clock: referrals, decisions,
   assessments, plans, reviews, visits, step-downs, escalations, transfers and closures, with late
   records and re-referrals, each accepted through the same API a recording system uses; every
   six simulated weeks, the worker delivers the outbox and runs every case run that has news;
4. prints what happened and where to look in the UI, and ends (the server is left running so the
   UI can be explored; `make stop` stops it).
"""

from __future__ import annotations

import os
import shutil
import time
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path

import httpx
from sqlalchemy import Engine

from flows.explain_demo import explain_examples
from flows.local_server import PrefectServer

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "data"
PORT = 4200
START = date(2025, 1, 6)
DAYS = 364
CASES = 200
# The worker delivers and runs the case runs once every ROUND_WEEKS simulated weeks: each case run
# then wakes once for all of that period's news, which keeps the demo within 5 minutes.
ROUND_WEEKS = 6
AUTHORITIES = ("redbridge", "stockton-on-tees", "warwickshire", "redcar-and-cleveland")


def stop_previous_server(home: Path) -> None:
    pid_file = home / "server.pid"
    if pid_file.exists():
        try:
            os.killpg(int(pid_file.read_text()), 15)
        except (ProcessLookupError, ValueError, PermissionError):
            pass
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{PORT}/api/health", timeout=0.5)
            except httpx.HTTPError:
                break
            time.sleep(0.1)


def start_server() -> PrefectServer:
    home = DATA / "prefect"
    stop_previous_server(home)
    if home.exists():
        shutil.rmtree(home)
    server = PrefectServer(home, PORT, ui=True)
    print(f"starting a local Prefect server (SQLite under {home.relative_to(REPO)}) ...")
    server.start(detach=True)
    for key, value in server.env().items():
        if key.startswith("PREFECT_"):
            os.environ[key] = value
    return server


def play(started: float) -> None:
    # imported after the environment points at the demo's server and data folder
    from flows.caseload import CaseloadRecord, generate_caseload, mix_summary
    from flows.ingest import Ingest
    from flows.worker import work
    from models.lifecycle import EventRefused

    ingest = Ingest.from_settings(deliver=False)
    records = generate_caseload(
        authorities=AUTHORITIES, cases=CASES, start=START, days=DAYS, seed=2026,
        policies=ingest.policies,
    )  # fmt: skip
    mix = mix_summary(records)
    print(
        f"\nsynthetic caseload: {mix['cases']} cases of {mix['children']} children, "
        f"{mix['records']} records ({mix['late_records']} sent late, "
        f"{mix['re_referrals']} re-referrals), {START} to {START + timedelta(days=DAYS)}"
    )
    by_week: dict[int, list[CaseloadRecord]] = defaultdict(list)
    for record in records:
        by_week[(record.recorded_on - START).days // 7].append(record)
    case_refs: dict[str, str] = {}
    refused: list[str] = []
    accepted = 0
    for week in range(DAYS // 7 + 1):
        today = START + timedelta(days=7 * week + 6)
        os.environ["CIN_TODAY"] = today.isoformat()
        for record in by_week.get(week, []):
            try:
                if record.case_key not in case_refs:
                    result = ingest.open(
                        authority=record.authority, child_ref=record.child_ref,
                        event=record.event, team=record.team, key=record.key,
                    )  # fmt: skip
                    case_refs[record.case_key] = result.case_ref
                else:
                    ingest.record(case_refs[record.case_key], record.event, key=record.key)
                accepted += 1
            except EventRefused as refusal:
                refused.append(f"{record.case_key}: {refusal}")
        if week % ROUND_WEEKS == ROUND_WEEKS - 1 or week == DAYS // 7:
            work(ingest.engine, threads=2, until_idle=True)
            print(
                f"  simulated {today}: {accepted} events accepted, {len(case_refs)} cases "
                f"({time.monotonic() - started:.0f}s)",
                flush=True,
            )
    from flows.reconciler import reconcile

    reconcile()  # one reconciler pass, visible in the UI beside the case runs
    summarise(ingest.engine, accepted, refused, today)


def summarise(engine: Engine, accepted: int, refused: list[str], today: date) -> None:
    from sqlmodel import Session, select

    from models.tables import Case, Deadline

    with Session(engine) as session:
        cases = session.exec(select(Case)).all()
        deadlines = session.exec(select(Deadline)).all()
    stages = Counter(c.stage for c in cases)
    statuses = Counter(d.status for d in deadlines)
    overdue = [d for d in deadlines if d.status == "open" and d.due < today]
    behind = [c.case_ref for c in cases if c.flow_seq != c.last_seq]
    print(f"\n{accepted} events accepted, {len(refused)} refused; {len(cases)} cases")
    for line in refused[:5]:
        print(f"  refused: {line}")
    print("cases by stage:  " + ", ".join(f"{k} {v}" for k, v in sorted(stages.items())))
    print("deadlines:       " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
    print(f"overdue on {today}: {len(overdue)} open deadlines past due")
    print(f"case runs behind their log: {len(behind)} (0 means every event was applied)")
    print(f"re-referrals detected: {sum(c.re_referral for c in cases)}")
    example = next((c for c in cases if c.stage == "cin_plan"), cases[0])
    print(
        f"""
Where to look (Prefect UI, http://127.0.0.1:{PORT}):
  Runs        one flow run per case, named after its reference ({example.case_ref}, ...);
              filter by tag authority:redbridge, team:..., stage:cin_plan; a suspended run's
              state message says what it waits for and when that is due (or overdue since).
  Artifacts   case-{example.case_ref.lower()}: the case's timeline and open deadlines.
  CLI         CIN_DATA_DIR=data CIN_TODAY={today} .venv/bin/cin case show {example.case_ref}
              CIN_DATA_DIR=data .venv/bin/cin deadlines --overdue --as-of {today}
The Prefect server keeps running for exploring the UI; `make stop` stops it."""
    )


def main() -> None:
    started = time.monotonic()
    print("Deadlines under the seed authorities' policies, with their reasons:\n")
    for line in explain_examples():
        print(line)
    DATA.mkdir(exist_ok=True)
    os.environ["CIN_DATA_DIR"] = str(DATA)
    os.environ.pop("CIN_DATABASE_URL", None)
    for stale in DATA.glob("cin.db*"):
        stale.unlink()
    start_server()
    play(started)
    print(f"\ndemo finished in {time.monotonic() - started:.0f}s")


if __name__ == "__main__":
    main()
