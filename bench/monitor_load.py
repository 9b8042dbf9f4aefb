"""A synthetic caseload for the deadline monitor's benchmark, bulk-loaded with PostgreSQL COPY.

`load(url, spec)` drops and creates the database named in `url`, brings the schema up with
Alembic (`models.database.migrate`), writes the authority rows from the policy files, then COPYs:

- the staff of each authority: a head of service, service managers over 4 teams each, one team
  manager per team and ~8 workers per team, each worker's `manager_id` their team manager;
- `spec.cases` open cases spread over the four authorities, ~25 to a worker, every one allocated
  to a worker of its team; stage mix 60% cin_plan, 25% assessment, 10% plan_pending, 5%
  step_down_panel;
- their open deadlines as the lifecycle leaves them (cin_plan: review#n or the first review,
  visit#n, team_manager_review; assessment: assessment_completed; plan_pending: cin_plan_meeting;
  step_down_panel: step_down_panel, review#n, visit#n), exactly `spec.overdue` of them overdue
  (1-60 days before `as_of`), exactly `spec.soon` due from `as_of` to 2 working days after it, the
  rest 3 days to 6 months ahead (the team-manager review up to 12 months);
- closed history (met, met late, cancelled: the referral decision, the assessment, the plan
  meeting, the previous visit and review), about 3 rows a case;
- `spec.drift` open drift findings ("3 reviews in a row decided continue").

Nothing has been marked yet: every open deadline is `open` with no reminder and no escalation, as
on the day the monitor is switched on. Generation is seeded: the same spec gives the same rows.
The foreign keys are checked at the end (one query per table), not row by row during the COPY.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy import make_url
from sqlmodel import Session, create_engine

from bench.monitor_world import AUTHORITIES, LoadSpec, World, team_name
from models.cases.store import sync_authorities
from models.database import migrate
from models.policy.book import PolicyBook, load_policy_dir

REPO = Path(__file__).resolve().parents[1]
CHUNK = 50_000  # rows per COPY write


@dataclass(frozen=True)
class Loaded:
    spec: LoadSpec
    cases: int
    open_deadlines: int
    closed_deadlines: int
    staff: int
    teams: int
    seconds: float
    copy_seconds: float
    teams_of: tuple[tuple[str, int], ...] = ()  # (authority, number of teams)

    def team_names(self) -> list[tuple[str, str]]:
        """(authority, team) of every team."""
        return [(a, team_name(a, t)) for a, count in self.teams_of for t in range(count)]

    @property
    def due_items(self) -> int:
        """What the monitor's query returns on `as_of`: overdue, due soon and drift."""
        return self.spec.overdue + self.spec.soon + self.spec.drift


def libpq_dsn(url: str, database: str | None = None) -> str:
    target = make_url(url)
    if database is not None:
        target = target.set(database=database)
    return target.set(drivername="postgresql").render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    name = sql.Identifier(str(make_url(url).database))
    with psycopg.connect(libpq_dsn(url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))


def create_database(url: str) -> None:
    drop_database(url)
    name = sql.Identifier(str(make_url(url).database))
    with psycopg.connect(libpq_dsn(url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))


def load(url: str, spec: LoadSpec, policies: PolicyBook | None = None) -> Loaded:
    """A fresh database at `url` holding the caseload `spec` describes."""
    t0 = time.perf_counter()
    book = policies if policies is not None else load_policy_dir(REPO / "policies")
    create_database(url)
    migrate(url)
    engine = create_engine(url)
    with Session(engine) as session:
        sync_authorities(session, policies=book)
    engine.dispose()

    world = World(spec, book)
    t1 = time.perf_counter()
    with psycopg.connect(libpq_dsn(url)) as conn:
        rows = conn.execute("SELECT slug, case_prefix FROM authority").fetchall()
        prefixes: dict[str, str] = {str(slug): str(prefix) for slug, prefix in rows}
        # the foreign keys are checked once, at the end, rather than by a trigger per row
        conn.execute("SET session_replication_role = replica")
        _copy(conn, "staff", _STAFF_COLUMNS, world.staff_lines())
        _copy(conn, "case", _CASE_COLUMNS, world.case_lines(prefixes))
        _copy(conn, "deadline", _DEADLINE_COLUMNS, world.open_deadline_lines())
        _copy(conn, "deadline", _DEADLINE_COLUMNS, world.history_lines())
        _copy(conn, "drift", _DRIFT_COLUMNS, world.drift_lines())
        for slug, count in world.cases_by_authority().items():
            conn.execute(
                "UPDATE authority SET next_case_number = %s WHERE slug = %s", (count + 1, slug)
            )
        conn.execute("SET session_replication_role = origin")
        _check_references(conn)
        conn.commit()
    copy_seconds = time.perf_counter() - t1
    with psycopg.connect(libpq_dsn(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return Loaded(
        spec=spec,
        cases=spec.cases,
        open_deadlines=world.open_count,
        closed_deadlines=world.history_count,
        staff=world.staff_count,
        teams=world.team_count,
        seconds=time.perf_counter() - t0,
        copy_seconds=copy_seconds,
        teams_of=tuple(zip(AUTHORITIES, world.teams, strict=True)),
    )


# -- COPY -------------------------------------------------------------------------------------

_STAFF_COLUMNS = (
    "authority", "staff_id", "name", "email", "role", "team", "manager_id", "active", "updated_at",
)  # fmt: skip
_CASE_COLUMNS = (
    "id", "case_ref", "authority", "child_ref", "team", "stage", "referral_date", "re_referral",
    "state", "last_seq", "flow_seq", "flow_run_id", "worker_id", "created_at", "updated_at",
)  # fmt: skip
_DEADLINE_COLUMNS = (
    "id", "case_id", "key", "kind", "due", "status", "policy_ref", "explanation", "met_on",
    "opened_seq", "closed_seq", "escalation_level", "reminder_level",
)  # fmt: skip
_DRIFT_COLUMNS = (
    "id", "case_id", "key", "kind", "since", "status", "explanation", "opened_seq", "closed_seq",
    "escalation_level",
)  # fmt: skip


def _copy(
    conn: psycopg.Connection, table: str, columns: Sequence[str], lines: Iterator[str]
) -> None:
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        batch: list[str] = []
        for line in lines:
            batch.append(line)
            if len(batch) >= CHUNK:
                copy.write("".join(batch))
                batch.clear()
        if batch:
            copy.write("".join(batch))


def _check_references(conn: psycopg.Connection) -> None:
    checks = {
        "case.authority": 'SELECT count(*) FROM "case" c LEFT JOIN authority a '
        "ON a.slug = c.authority WHERE a.slug IS NULL",
        "deadline.case_id": 'SELECT count(*) FROM deadline d LEFT JOIN "case" c '
        "ON c.id = d.case_id WHERE c.id IS NULL",
        "drift.case_id": 'SELECT count(*) FROM drift d LEFT JOIN "case" c '
        "ON c.id = d.case_id WHERE c.id IS NULL",
        "staff.authority": "SELECT count(*) FROM staff s LEFT JOIN authority a "
        "ON a.slug = s.authority WHERE a.slug IS NULL",
        "case.worker_id": 'SELECT count(*) FROM "case" c LEFT JOIN staff s '
        "ON s.authority = c.authority AND s.staff_id = c.worker_id WHERE s.staff_id IS NULL",
    }
    for what, query in checks.items():
        row = conn.execute(query).fetchone()
        if row is None or row[0]:
            raise RuntimeError(f"loader bug: {row[0] if row else '?'} rows break {what}")


# -- the generated world ----------------------------------------------------------------------
