"""`cin report` and `cin report --compare` over England's CIN population, and `cin policy whatif`
for a council of 5,000 open cases, on PostgreSQL.

Targets (issue 11): each report under 30 s over the monitor benchmark's 403,090 cases; whatif
under 60 s for 5,000 open cases. Each is printed beside one plain `SELECT count(*)` over the same
event table, timed in the same run. The machine is shared: figures are noisy.

1. `bench/monitor_load.py` COPYs 403,090 open cases with their deadlines (`cin_report_bench`);
   this script then writes an event log for them in SQL (referral, decision, assessment, plan
   meeting, visits up to each case's last sequence number, a CP plan for 1 in 20), closes 1 in 5
   (NFA, step down, services ceased, final meeting) and pairs 1 in 10 as re-referrals.
2. `cin report --authority warwickshire --json` and `cin report --compare --json` are timed as
   fresh processes (start-up included), over the 12 months to the load's day.
3. whatif: `demo.caseload` generates Warwickshire histories; the open cases' logs are folded
   through the lifecycle and written as they would stand (events, case state, open deadlines)
   into `cin_whatif_bench`; then `cin policy whatif warwickshire --set first_review="4 weeks"`
   is timed, and the unchanged policy must move nothing.

    python bench/report_bench.py [--cases 403090] [--skip-load] [--whatif-cases 12750] [--keep]
    python bench/report_bench.py --prefix cin_h11_ --reuse --lock /tmp/cin-heavy.lock

`--reuse` loads `<prefix>report_bench` only if no finished load is there (the load takes over
10 minutes) and keeps the databases; drop them afterwards (`DROP DATABASE ... WITH (FORCE)`).
`--lock` holds the machine's heavy lock around the timed parts only. `--per-measure` then times
each statement in-process, for one council and for all of them.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from sqlalchemy import create_engine, insert
from sqlalchemy.engine import make_url
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.monitor_load import REPO, create_database, drop_database, libpq_dsn, load
from bench.monitor_world import AS_OF, AUTHORITIES, LoadSpec
from demo.caseload import generate_caseload  # noqa: E402
from models.cases.store import sync_authorities  # noqa: E402
from models.database import migrate  # noqa: E402
from models.lifecycle import apply, initial_state, parse_event, state_to_dict  # noqa: E402
from models.policy.book import load_policy_dir  # noqa: E402
from models.report.measures import council_reports  # noqa: E402
from models.tables import Case, CaseEvent, Deadline  # noqa: E402

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/"
# --prefix names the databases, so two runs on one PostgreSQL server do not meet.
REPORT_DB = SERVER + "cin_report_bench"
WHATIF_DB = SERVER + "cin_whatif_bench"
REPORT_TARGET, WHATIF_TARGET = 30.0, 60.0

_EVENT_LOG = """
INSERT INTO case_event (id, case_id, seq, idempotency_key, event_type, occurred_on, payload,
                        recorded_at)
SELECT gen_random_uuid(), e.case_id, e.seq, 'bench-' || e.seq, e.type, e.day,
       json_build_object('type', e.type, 'on', e.day, 'outcome', e.outcome), now()
FROM (
    SELECT c.id AS case_id, s.seq,
           CASE WHEN s.seq = 1 THEN 'referral_received'
                WHEN s.seq = 2 THEN 'referral_decision'
                WHEN s.seq = 3 AND c.stage = 'assessment' THEN 'assessment_started'
                WHEN s.seq = 3 THEN 'assessment_completed'
                WHEN s.seq = 4 THEN 'cin_meeting_held'
                WHEN s.seq = 5 AND c.id_hash % 20 = 0 THEN 'icpc_held'
                ELSE 'visit_recorded' END AS type,
           CASE WHEN s.seq = 2 THEN 'assessment' WHEN s.seq = 3 THEN 'cin_plan'
                WHEN s.seq = 5 AND c.id_hash % 20 = 0 THEN 'cp_plan' END AS outcome,
           c.referral_date + (s.seq - 1) * GREATEST(1, (DATE '{as_of}' - c.referral_date)
                                                      / (c.last_seq + 1)) AS day
    FROM (SELECT id, stage, referral_date, last_seq,
                 abs(hashtext(id::text)) AS id_hash FROM "case") c
    CROSS JOIN LATERAL generate_series(1, c.last_seq) AS s(seq)
) e
"""
_CLOSE = """
WITH closing AS (
    SELECT id, last_seq + 1 AS seq, abs(hashtext(id::text)) % 4 AS how,
           referral_date + (DATE '{as_of}' - referral_date) * 19 / 20 AS day
    FROM "case" WHERE abs(hashtext(id::text || 'close')) % 5 = 0
), logged AS (
    INSERT INTO case_event (id, case_id, seq, idempotency_key, event_type, occurred_on, payload,
                            recorded_at)
    SELECT gen_random_uuid(), id, seq, 'bench-close',
           (ARRAY['referral_decision', 'assessment_completed', 'case_closed',
                  'final_meeting_held'])[how + 1], day,
           json_build_object('on', day, 'outcome', (ARRAY['nfa', 'step_down', NULL, NULL])[how + 1],
                             'reason', (ARRAY[NULL, NULL, 'RC7', NULL])[how + 1]), now()
    FROM closing
    RETURNING case_id, seq, occurred_on
)
-- the closure's date in the case state, as the lifecycle writes it (the census and the report's
-- "on a date" counts read it there)
UPDATE "case" c SET stage = 'closed', last_seq = logged.seq,
       state = (c.state::jsonb || jsonb_build_object('closed_on', logged.occurred_on::text))::json
FROM logged WHERE c.id = logged.case_id
"""
_PAIR = """
UPDATE "case" SET child_ref = 'P' || (substr(child_ref, 2)::int / 2)
WHERE (substr(child_ref, 2)::int / 2) % 5 = 0;
UPDATE "case" c SET re_referral = true FROM "case" p
WHERE p.authority = c.authority AND p.child_ref = c.child_ref AND c.child_ref LIKE 'P%'
  AND p.referral_date < c.referral_date AND c.referral_date <= p.referral_date + 365;
"""


def build_report_db(cases: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    loaded = load(REPORT_DB, LoadSpec(cases=cases))
    t1 = time.perf_counter()
    with psycopg.connect(libpq_dsn(REPORT_DB)) as conn:
        conn.execute(_EVENT_LOG.format(as_of=AS_OF.isoformat()))
        conn.execute(_CLOSE.format(as_of=AS_OF.isoformat()))
        for statement in _PAIR.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.commit()
    with psycopg.connect(libpq_dsn(REPORT_DB), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        name = sql.Identifier(str(make_url(REPORT_DB).database))
        conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(name, sql.Literal(LOADED_MARK)))
    return {"load_s": round(t1 - t0, 1), "events_s": round(time.perf_counter() - t1, 1),
            "cases": loaded.cases}  # fmt: skip


def count_events(url: str) -> tuple[int, float]:
    with psycopg.connect(libpq_dsn(url)) as conn:
        t0 = time.perf_counter()
        row = conn.execute("SELECT count(*) FROM case_event").fetchone()
        return int(row[0]) if row else 0, time.perf_counter() - t0


def timed_cin(url: str, *args: str, today: date | None = None) -> tuple[float, Any]:
    env = {**os.environ, "CIN_DATABASE_URL": url, "CIN_POLICY_DIR": str(REPO / "policies")}
    if today is not None:
        env["CIN_TODAY"] = today.isoformat()
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "cli.main", *args], cwd=REPO, env=env, capture_output=True,
        text=True, check=False,
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"cin {' '.join(args)} failed: {done.stderr.strip()}")
    return seconds, json.loads(done.stdout)


def build_whatif_db(cases: int, today: date) -> dict[str, Any]:
    """Warwickshire's open cases as the accept path would leave them, written in bulk."""
    book = load_policy_dir(REPO / "policies")
    records = generate_caseload(
        authorities=("warwickshire",), cases=cases, start=date(2024, 4, 1), days=365, seed=1,
        policies=book,
    )  # fmt: skip
    timeline = book.authority("warwickshire")
    by_case: dict[str, list[Any]] = {}
    for record in records:
        if record.on <= today:
            by_case.setdefault(record.case_key, []).append(record)
    create_database(WHATIF_DB)
    migrate(WHATIF_DB)
    engine = create_engine(WHATIF_DB)
    case_rows: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = []
    deadline_rows: list[dict[str, Any]] = []
    for number, (_key, logged) in enumerate(sorted(by_case.items()), start=1):
        state = initial_state()
        case_id = uuid.uuid4()
        opened_at: dict[str, int] = {}
        for seq, record in enumerate(logged, start=1):
            transition = apply(state, parse_event(record.event), timeline)
            state = transition.state
            for change in transition.changes:
                if change.action == "open":
                    opened_at[change.key] = seq
            event_rows.append({"id": uuid.uuid4(), "case_id": case_id, "seq": seq,
                               "idempotency_key": record.key, "event_type": record.event["type"],
                               "occurred_on": record.on, "payload": record.event})  # fmt: skip
        if not state.is_open:
            event_rows = [e for e in event_rows if e["case_id"] != case_id]
            continue
        case_rows.append({"id": case_id, "case_ref": f"WAR-{number:06d}",
                          "authority": "warwickshire", "child_ref": logged[0].child_ref,
                          "team": logged[0].team, "stage": state.stage.value,
                          "referral_date": state.referral_date, "re_referral": False,
                          "state": state_to_dict(state), "last_seq": len(logged),
                          "flow_seq": len(logged)})  # fmt: skip
        for d in state.deadlines:
            deadline_rows.append({"id": uuid.uuid4(), "case_id": case_id, "key": d.key,
                                  "kind": d.kind.value, "due": d.due, "status": "open",
                                  "policy_ref": d.policy_ref, "explanation": "",
                                  "opened_seq": opened_at.get(d.key, 1)})  # fmt: skip
    with Session(engine) as session:
        sync_authorities(session, policies=book)
        session.execute(insert(Case), case_rows)
        session.execute(insert(CaseEvent), event_rows)
        session.execute(insert(Deadline), deadline_rows)
        session.commit()
    engine.dispose()
    return {"open_cases": len(case_rows), "events": len(event_rows),
            "open_deadlines": len(deadline_rows)}  # fmt: skip


LOADED_MARK = "report_bench: loaded"  # the database's comment once a load has finished


def database_loaded(url: str) -> bool:
    """The database exists and a load into it finished (an interrupted one is loaded again)."""
    with psycopg.connect(libpq_dsn(url, "postgres")) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (make_url(url).database,),
        ).fetchone()
    return row is not None and row[0] == LOADED_MARK


def main() -> None:
    global REPORT_DB, WHATIF_DB
    parser = argparse.ArgumentParser(allow_abbrev=False)
    parser.add_argument("--cases", type=int, default=403_090)
    parser.add_argument("--prefix", default="cin_", help="database name prefix (cin_h11_ ...)")
    parser.add_argument("--skip-load", action="store_true", help="reuse <prefix>report_bench")
    parser.add_argument(
        "--reuse", action="store_true",
        help="load <prefix>report_bench only if it does not exist yet, and keep it afterwards",
    )  # fmt: skip
    parser.add_argument("--whatif-cases", type=int, default=12_750)
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    parser.add_argument("--skip-report", action="store_true", help="only the whatif part")
    parser.add_argument(
        "--per-measure", action="store_true", help="then time each statement, in-process"
    )
    parser.add_argument(
        "--lock", type=Path, help="hold this flock (/tmp/cin-heavy.lock) while timing, not loading"
    )
    parser.add_argument("--skip-whatif", action="store_true", help="only the report part")
    parser.add_argument(
        "--load-only", action="store_true", help="build the databases, time nothing"
    )
    args = parser.parse_args()
    REPORT_DB = SERVER + f"{args.prefix}report_bench"
    WHATIF_DB = SERVER + f"{args.prefix}whatif_bench"

    start = AS_OF - timedelta(days=364)
    period = ["--from", start.isoformat(), "--to", AS_OF.isoformat(), "--json"]
    skip_load = args.skip_load or (args.reuse and database_loaded(REPORT_DB))
    if args.load_only:
        if not skip_load:
            print(json.dumps(build_report_db(args.cases)), flush=True)
        migrate(REPORT_DB)
        return
    if not args.skip_report:
        report_part(args.cases, skip_load, period, args.per_measure, args.lock)
    if not args.skip_whatif:
        whatif_part(args.whatif_cases, args.lock)
    if not (args.keep or args.reuse):
        drop_database(REPORT_DB)
        drop_database(WHATIF_DB)


@contextmanager
def heavy_lock(path: Path | None) -> Iterator[None]:
    """Hold the machine-wide lock (flock) around a timed part only: loading runs without it."""
    if path is None:
        yield
        return
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        print(f"(holding {path}; load average {load_average()})", flush=True)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def report_part(
    cases: int, skip_load: bool, period: list[str], per_measure: bool, lock: Path | None
) -> None:
    if not skip_load:
        print("building the report database ...", flush=True)
        print(json.dumps(build_report_db(cases)), flush=True)
    with heavy_lock(lock):
        events, count_s = count_events(REPORT_DB)
        one_s, one = timed_cin(REPORT_DB, "report", "--authority", "warwickshire", *period)
        all_s, compared = timed_cin(REPORT_DB, "report", "--compare", *period)
        _, count_again_s = count_events(REPORT_DB)
        print(f"load average at the end: {load_average()}")
    reference = (count_s + count_again_s) / 2
    print(f"event table: {events:,} events; SELECT count(*) {reference:.2f} s (mean of 2)")
    print(f"cin report --authority warwickshire: {one_s:.1f} s (target {REPORT_TARGET:.0f} s), "
          f"{one_s / reference:.1f}x the count; referrals {one['referrals_total']:,}, "
          f"closures {one['closures_total']:,}")  # fmt: skip
    print(f"cin report --compare ({len(compared['authorities'])} authorities): {all_s:.1f} s "
          f"(target {REPORT_TARGET:.0f} s), {all_s / reference:.1f}x the count")  # fmt: skip
    if per_measure:
        per_measure_part(reference, AS_OF - timedelta(days=364), AS_OF)


def per_measure_part(reference: float, start: date, end: date) -> None:
    """Each statement's time, in-process, for one authority and for all of them."""
    book = load_policy_dir(REPO / "policies")
    engine = create_engine(REPORT_DB)
    for label, slugs in (("warwickshire", ["warwickshire"]), ("compare", sorted(AUTHORITIES))):
        timings: dict[str, float] = {}
        with engine.connect() as conn:
            t0 = time.perf_counter()
            council_reports(conn, book, slugs, start, end, timings)
            total = time.perf_counter() - t0
            conn.rollback()
        print(f"per statement, {label} (in-process {total:.1f} s, {total / reference:.1f}x):")
        for name, seconds in sorted(timings.items(), key=lambda item: -item[1]):
            print(f"  {seconds:7.2f} s  {seconds / reference:5.1f}x  {name}")
    engine.dispose()


def whatif_part(cases: int, lock: Path | None) -> None:
    today = date(2025, 3, 31)
    print("building the whatif database ...", flush=True)
    built = build_whatif_db(cases, today)
    print(json.dumps(built), flush=True)
    with heavy_lock(lock):
        w_events, w_count_s = count_events(WHATIF_DB)
        same_s, same = timed_cin(WHATIF_DB, "policy", "whatif", "warwickshire", "--draft",
                                 str(REPO / "policies" / "warwickshire.yaml"), "--json",
                                 today=today)  # fmt: skip
        change_s, changed = timed_cin(WHATIF_DB, "policy", "whatif", "warwickshire", "--set",
                                      "first_review=4 weeks", "--json", today=today)  # fmt: skip
        print(f"load average at the end: {load_average()}")
    print(f"whatif event table: {w_events:,} events; SELECT count(*) {w_count_s:.3f} s")
    print(f"cin policy whatif, unchanged policy, {same['open_cases']:,} open cases: {same_s:.1f} s "
          f"(target {WHATIF_TARGET:.0f} s); moved {same['moved']} (must be 0)")  # fmt: skip
    print(f"cin policy whatif --set first_review=4 weeks: {change_s:.1f} s; moved "
          f"{changed['moved']:,}, overdue today {changed['overdue_today']}")  # fmt: skip
    if same["moved"] != 0:
        raise SystemExit("the unchanged policy moved deadlines: the rebuild disagrees")


if __name__ == "__main__":
    main()
