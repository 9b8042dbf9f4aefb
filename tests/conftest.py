"""Fixtures for every test package: the real policies, and a fresh case database per test.

STYLE.md rule 8: each test gets its own database. `db_url` is parametrised, so a test that asks
for it (or for `engine`) runs twice: on a SQLite file under `tmp_path`, and on a PostgreSQL
database created for that test alone and dropped after it. PostgreSQL is not optional: when it
cannot be reached the test fails, naming the server tried; it never skips.
"""

from __future__ import annotations

import logging
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import URL, Engine, make_url
from sqlmodel import Session

from demo.local_server import copy_database
from demo.local_smtp import LocalSmtpServer
from demo.teams_receiver import TeamsReceiver
from models.cases.store import sync_authorities
from models.database import get_engine, migrate
from models.policy.book import PolicyBook, load_policy_dir

REPO_ROOT = Path(__file__).resolve().parents[1]
# The maintenance database that test databases are created from and dropped from.
POSTGRES_ADMIN_URL = os.environ.get(
    "CIN_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


# The files that take longest, longest first (measured: the durations of a fresh-clone run,
# `PYTEST_ADDOPTS=--durations=0`, 2026-12-06). `make test` hands files to its four processes in
# collection order (`--dist loadfile --no-loadscope-reorder`); xdist's default order, files with
# most tests first, started these one- and two-test files last, so the suite ended with one
# process running the topology test alone for minutes while the other three were idle.
LONG_FIRST = (
    "tests/engine/test_topology.py",
    "tests/flows/test_prefect_db_lost.py",
    "tests/notifications/test_monitor_delivery.py",
    "tests/flows/test_two_councils.py",
    "tests/demo/test_census_demo.py",
    "tests/flows/test_prefect_upgrade.py",
    "tests/models/census/test_dfe_ingest.py",
    "tests/notifications/test_monitor_year.py",
    "tests/tasks/test_prefect_retention.py",
    "tests/flows/test_crashes.py",
    "tests/flows/test_worker_memory.py",
    "tests/api/test_api_crashes.py",
    "tests/models/annex_a/test_consistency.py",
    "tests/browser/test_prefect_ui.py",
)


# `make test` hands tests out one at a time (xdist's `--dist loadgroup` with no test in a group:
# each test is a scope of its own; pytest 9.2 keeps a node id where xdist 3.8 cannot append a
# group to it, so grouping by file is not available). Measured on fresh clones: 14 min 16 s and
# 14 min 56 s quiet, against 16 min 19 s handing out whole files (`--dist loadfile`).
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long files first (LONG_FIRST), then the rest in their own order (a stable sort); the
    tests that use the session Prefect server (`prefect_server`) start where the first of their
    files in LONG_FIRST would."""
    rank = {path: n for n, path in enumerate(LONG_FIRST)}

    def path_of(item: pytest.Item) -> str:
        return item.nodeid.split("::", 1)[0]

    harness_files = {
        path_of(item) for item in items if "prefect_server" in getattr(item, "fixturenames", ())
    }
    harness_rank = min((rank.get(path, len(LONG_FIRST)) for path in harness_files), default=0)

    def key(item: pytest.Item) -> int:
        path = path_of(item)
        return harness_rank if path in harness_files else rank.get(path, len(LONG_FIRST))

    items.sort(key=key)


# Where the suite's CPU goes, test by test: with CIN_TEST_CPU=<file>, each test process appends a
# line per test (its node id, the CPU seconds of this process and of the children it waited for:
# the `cin` commands, servers and workers the test started and stopped). Session servers (the
# Prefect test harness) are counted at the end, under "session". `bench/suite_cpu.py` sums them
# by file. The wall time of a test says little on two cores shared by four test processes.
_CPU_LOG = os.environ.get("CIN_TEST_CPU")


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    before = _cpu() if _CPU_LOG else 0.0
    yield
    if _CPU_LOG:
        with open(_CPU_LOG, "a") as out:
            out.write(f"{_cpu() - before:.2f}\t{item.nodeid}\n")


def pytest_sessionfinish(session: pytest.Session) -> None:
    # not xdist's controller: its children are the test processes, which write their own
    if _CPU_LOG and not session.config.pluginmanager.hasplugin("dsession"):
        with open(_CPU_LOG, "a") as out:
            out.write(f"{_cpu():.2f}\tsession total of process {os.getpid()}\n")


@pytest.fixture(scope="session", autouse=True)
def quiet_exit() -> Iterator[None]:
    """No logging traceback after pytest's summary. Prefect's background workers (API logs,
    events) and servers log at interpreter exit through handlers that were bound to pytest's
    capture streams, which pytest has closed by then ("ValueError: I/O operation on closed
    file"). At the end of the session: drain those workers while the streams are open, then
    rebind every handler still holding another stream to the real stderr."""
    yield
    if "prefect" in sys.modules:
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogWorker

        for worker in (APILogWorker, EventsWorker):
            try:
                worker.drain_all(timeout=5)
            except Exception:  # best effort at exit: there is nobody to report to
                pass
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            if (
                isinstance(handler, logging.StreamHandler)
                and not isinstance(handler, logging.FileHandler)
                and not type(handler).__module__.startswith("_pytest")  # pytest's own
                and handler.stream not in (sys.__stderr__, sys.__stdout__)
            ):
                try:
                    handler.setStream(sys.__stderr__)
                except ValueError:  # its stream (a test's capsys) is closed already: no flush
                    handler.stream = sys.__stderr__
                console = getattr(handler, "console", None)  # Prefect's rich console handler
                if console is not None:
                    console.file = sys.__stderr__


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """A real Prefect server (temporary SQLite) for the flow and task tests: one per test process,
    defined here once. It was defined in tests/flows and imported into tests/tasks, which made two
    session fixtures: a process that ran a tasks/ file then a flows/ file started a second server,
    and Prefect's events client stayed bound to the first, so the second never recorded the task
    runs of tests/flows/test_case_flow.py (it failed, in that order only).

    With API authentication on, as every server the engine starts (the harness hands the
    current settings to its server process). Up to 300 s to start: `make test` runs four test
    processes, each starting its own servers, on a 2-core machine (60 s timed out there)."""
    import secrets

    from prefect.settings import (
        PREFECT_API_AUTH_STRING,
        PREFECT_SERVER_API_AUTH_STRING,
        temporary_settings,
    )
    from prefect.testing.utilities import prefect_test_harness

    secret = f"cin:{secrets.token_urlsafe(16)}"
    auth = {PREFECT_SERVER_API_AUTH_STRING: secret, PREFECT_API_AUTH_STRING: secret}
    with temporary_settings(updates=auth), prefect_test_harness(server_startup_timeout=300):
        yield


@pytest.fixture(scope="session")
def prefect_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database this Prefect has migrated, for the tests' `PrefectServer(template=)`:
    a server started from it costs 4.4 s of CPU, not 8.0 (measured), and the suite starts ten.
    Made once a run, by the first test process that needs it (the others wait on a lock), in
    the run's temporary folder: every run makes its own, so none starts from a stale one."""
    import fcntl

    from demo.local_server import PrefectServer, free_port

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the run's folder, which xdist's processes share
    template = shared / "prefect-template.db"
    with (shared / "prefect-template.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not template.exists():
            server = PrefectServer(tmp_path_factory.mktemp("prefect-template"), free_port())
            server.start(timeout=300)
            server.save_template(template)
    return template


@pytest.fixture
def case_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh case database (SQLite file) for the test, through the settings the flows read."""
    monkeypatch.setenv("CIN_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CIN_DATABASE_URL", raising=False)
    return f"sqlite:///{tmp_path / 'cin.db'}"


@pytest.fixture(scope="session")
def book() -> PolicyBook:
    """The real policy files (policies/*.yaml); a PolicyBook is immutable, so one serves all."""
    return load_policy_dir(REPO_ROOT / "policies")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(
    request: pytest.FixtureRequest, tmp_path: Path, schema_templates: SchemaTemplates
) -> Iterator[str]:
    """The SQLAlchemy URL of a new database that only this test uses: empty (no schema), or,
    for a test that asks for `engine`, a copy of one already migrated (`schema_templates`)."""
    migrated = "engine" in request.fixturenames
    if request.param == "sqlite":
        path = tmp_path / "cin.db"
        if migrated:
            copy_database(schema_templates.sqlite(), path)
            path.chmod(0o600)  # as `migrate` makes it: it holds children's records
        yield f"sqlite:///{path}"
    else:
        yield from _postgres_database(schema_templates.postgresql() if migrated else None)


@pytest.fixture
def engine(db_url: str, book: PolicyBook) -> Iterator[Engine]:
    """`db_url` migrated to the newest schema, with an authority row for every policy file."""
    migrate(db_url)  # a copy of a migrated template is at head already: this only checks
    engine = get_engine(db_url)
    with Session(engine) as session:
        sync_authorities(session, policies=book)
    yield engine
    engine.dispose()


class SchemaTemplates:
    """A database of each kind migrated to the newest schema with the policies' authorities,
    made once a test process when first asked for; each `engine` test's database is a copy
    (PostgreSQL's CREATE DATABASE ... TEMPLATE, SQLite's backup), not a migration of its own.
    Measured: 0.07 s to a PostgreSQL database at head against 0.2-0.33 s (0.06-0.1 s of this
    process's CPU), over the suite's ~480 tests on both databases."""

    def __init__(self, folder: Path, book: PolicyBook) -> None:
        self.folder, self.book = folder, book
        self._sqlite: Path | None = None
        self._postgresql: str | None = None

    def _migrated(self, url: str) -> None:
        migrate(url)
        engine = get_engine(url)
        with Session(engine) as session:
            sync_authorities(session, policies=self.book)
        engine.dispose()  # no connection left open: PostgreSQL copies only an idle template

    def sqlite(self) -> Path:
        if self._sqlite is None:
            path = self.folder / "template.db"
            self._migrated(f"sqlite:///{path}")
            self._sqlite = path
        return self._sqlite

    def postgresql(self) -> str:
        if self._postgresql is None:
            name = f"cin_test_template_{uuid.uuid4().hex}"
            _create_database(name)
            self._postgresql = name  # dropped at the end of the session, even half made
            self._migrated(_admin_url().set(database=name).render_as_string(hide_password=False))
        return self._postgresql

    def drop(self) -> None:
        if self._postgresql is not None:
            _drop_database(self._postgresql)


@pytest.fixture(scope="session")
def schema_templates(
    tmp_path_factory: pytest.TempPathFactory, book: PolicyBook
) -> Iterator[SchemaTemplates]:
    templates = SchemaTemplates(tmp_path_factory.mktemp("schema-templates"), book)
    yield templates
    templates.drop()


def _admin_url() -> URL:
    return make_url(POSTGRES_ADMIN_URL)


def _admin_dsn() -> str:
    return _admin_url().set(drivername="postgresql").render_as_string(hide_password=False)


def _create_database(name: str, template: str | None = None) -> None:
    """A new PostgreSQL database (from `template`, else PostgreSQL's own) whose commits wait
    for no fsync: a test database need not survive the PostgreSQL server's own crash (what other
    sessions see, and when, is unchanged). Fails the test, naming the server, if unreachable."""
    create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    if template is not None:
        create = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
            sql.Identifier(name), sql.Identifier(template)
        )
    try:
        with psycopg.connect(_admin_dsn(), autocommit=True, connect_timeout=5) as conn:
            conn.execute(create)
            conn.execute(
                sql.SQL("ALTER DATABASE {} SET synchronous_commit = off").format(
                    sql.Identifier(name)
                )
            )
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is required for this test and {_admin_url()!r} is unreachable: "
            f"{exc}".strip()
            + "\nStart PostgreSQL, or point CIN_TEST_POSTGRES_URL at a server where the user "
            "may create databases.",
            pytrace=False,
        )


def _drop_database(name: str) -> None:
    with psycopg.connect(_admin_dsn(), autocommit=True, connect_timeout=5) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _postgres_database(template: str | None = None) -> Iterator[str]:
    name = f"cin_test_{uuid.uuid4().hex}"
    _create_database(name, template)
    try:
        yield _admin_url().set(database=name).render_as_string(hide_password=False)
    finally:
        _drop_database(name)


def pg_database(kind: str) -> tuple[str, str]:
    """A new PostgreSQL database (its name and URL) for a test that runs its own servers on it
    (a Prefect server, a case database); `drop` it after. Commits wait for no fsync, as in
    `_postgres_database`. CIN_TEST_DB_PREFIX sets the name's prefix (default `cin_test_`)."""
    prefix = os.environ.get("CIN_TEST_DB_PREFIX", "cin_test_")
    name = f"{prefix}{kind}_{uuid.uuid4().hex[:12]}"
    _create_database(name)
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    return name, f"{base}/{name}"


def drop(name: str) -> None:
    _drop_database(name)


@pytest.fixture
def smtp_server() -> Iterator[LocalSmtpServer]:
    """A real SMTP server (aiosmtpd) on a free loopback port; `smtp_server.url()` is the
    CIN_SMTP_URL that reaches it."""
    with LocalSmtpServer() as server:
        yield server


@pytest.fixture
def teams_receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[TeamsReceiver]:
    """A real HTTPS receiver standing in for a Teams workflow; this test's requests trust it."""
    with TeamsReceiver() as receiver:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(receiver.ca_file))
        yield receiver
