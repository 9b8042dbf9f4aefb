"""`cin import` throughput: onboarding a council's caseload from its recording system.

The target (issue 23): 5,063 open cases (53,498 lines) onboarded in under 60 s on PostgreSQL
(`cin import`'s bulk path, the default; `--per-line` times the one-transaction-a-line path).
This generates the histories of `--cases` synthetic cases (`demo.caseload`), writes them as JSON
lines, and times the real command, `cin import FILE --no-deliver --no-progress`, in a fresh process
against a fresh database: a SQLite file in a temporary folder, or with `--database-url` a
PostgreSQL database this script creates and drops. The reference, from the same run, is the
lifecycle alone folding the same events in memory: what the database's transactions cost on top
of the domain rules.

    python bench/import_bench.py [--cases 5000] [--days 365] [--jobs N]
    python bench/import_bench.py --cases 12750 --open-only   # ~5,000 open cases' histories
    python bench/import_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/cin_bench
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import create_engine, func, make_url, select
from sqlmodel import col

from demo.caseload import CaseloadRecord, generate_caseload, mix_summary, to_jsonl
from models.lifecycle import CaseState, apply, initial_state, parse_event
from models.policy.book import PolicyBook, load_policy_dir
from models.tables import Case

REPO = Path(__file__).resolve().parents[1]
AUTHORITIES = ("redbridge", "warwickshire", "stockton-on-tees", "redcar-and-cleveland")


@contextmanager
def postgres_database(url: str) -> Iterator[str]:
    """Create the database named in `url` (dropping any left over), and drop it afterwards."""
    target = make_url(url)
    admin = target.set(drivername="postgresql", database="postgres")
    dsn = admin.render_as_string(hide_password=False)
    name = sql.Identifier(str(target.database))
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
    try:
        yield url
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))


def fold(records: list[CaseloadRecord], book: PolicyBook) -> tuple[float, dict[str, CaseState]]:
    """Events per second through `parse_event` + `apply` alone (the reference), and the states."""
    t0 = time.perf_counter()
    states: dict[str, CaseState] = {}
    for record in records:
        timeline = book.authority(record.authority)
        state = states.get(record.case_key, initial_state())
        states[record.case_key] = apply(state, parse_event(record.event), timeline).state
    return len(records) / (time.perf_counter() - t0), states


def run_import(
    path: Path, data_dir: Path, database_url: str | None, jobs: int, per_line: bool = False
) -> float:
    env = {**os.environ, "CIN_DATA_DIR": str(data_dir), "PREFECT_HOME": str(data_dir / "prefect")}
    env.pop("CIN_DATABASE_URL", None)
    if database_url:
        env["CIN_DATABASE_URL"] = database_url
    command = [sys.executable, "-m", "cli.main", "import", str(path), "--no-deliver"]
    command += ["--jobs", str(jobs), *(["--per-line"] if per_line else [])]
    t0 = time.perf_counter()
    done = subprocess.run([*command, "--no-progress"], cwd=REPO, env=env, text=True, check=False)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"cin import failed with status {done.returncode}")
    return seconds


def open_cases(url: str) -> tuple[int, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(Case)).scalar_one()
        still_open = conn.execute(
            select(func.count()).select_from(Case).where(col(Case.stage) != "closed")
        ).scalar_one()
    engine.dispose()
    return int(still_open), int(total)


def main() -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False)
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2024, 4, 1))
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", help="a PostgreSQL URL; the database is made and dropped")
    parser.add_argument("--jobs", type=int, default=1, help="cin import --jobs (worker processes)")
    parser.add_argument(
        "--per-line", action="store_true", help="cin import --per-line (one transaction a line)"
    )
    parser.add_argument(
        "--open-only",
        action="store_true",
        help="import only the histories of the cases still open at the horizon (onboarding)",
    )
    args = parser.parse_args()

    book = load_policy_dir(REPO / "policies")
    t0 = time.perf_counter()
    records = generate_caseload(
        authorities=AUTHORITIES,
        cases=args.cases,
        start=args.start,
        days=args.days,
        seed=args.seed,
        policies=book,
    )
    generated = time.perf_counter() - t0
    summary = mix_summary(records)
    print(
        f"generated {summary['cases']} cases ({summary['children']} children), {len(records)} "
        f"lines in {generated:.1f} s; {summary['late_records']} late, "
        f"{summary['re_referrals']} re-referrals"
    )
    reference, states = fold(records, book)
    if args.open_only:
        records = [r for r in records if states[r.case_key].is_open]
        print(f"kept the {len(records)} lines of the cases open at the horizon")

    with tempfile.TemporaryDirectory(prefix="cin-import-bench-") as folder:
        path = Path(folder) / "caseload.jsonl"
        path.write_text(to_jsonl(records), encoding="utf-8")
        data_dir = Path(folder) / "data"
        if args.database_url:
            with postgres_database(args.database_url) as url:
                seconds = run_import(path, data_dir, url, args.jobs, args.per_line)
                still_open, total = open_cases(url)
            where = f"PostgreSQL {make_url(url).host}"
        else:
            seconds = run_import(path, data_dir, None, args.jobs, args.per_line)
            still_open, total = open_cases(f"sqlite:///{data_dir / 'cin.db'}")
            where = "SQLite (WAL, synchronous=FULL)"
    rate = len(records) / seconds
    print(
        f"cin import --no-deliver --jobs {args.jobs}{' --per-line' if args.per_line else ''} "
        f"on {where}: {len(records)} lines in "
        f"{seconds:.1f} s wall"
    )
    print(f"  {rate:.0f} lines/s; {total} cases, {still_open} open at the horizon")
    print(f"  reference, same events through parse_event + apply in memory: {reference:.0f} /s")
    per_open = len(records) / max(still_open, 1)
    print(f"  a caseload of this mix with 5,000 open cases: ~{5000 * per_open / rate:.0f} s")


if __name__ == "__main__":
    main()
