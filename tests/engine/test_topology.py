"""The topology a large user runs (issue 9), in real processes on this machine: PostgreSQL for
Prefect and for cases, Redis for Prefect's messaging, two Prefect API servers without services,
one services process (demo/topology.py), three `cin worker` processes, 30 cases and 300 events
(`CIN_TOPOLOGY_CASES=200` for the full size, 2,000 events, as issue 9 measured it) fed by four
feeder processes at once. One worker and one API server are SIGKILLed
mid-run, then restarted. Then:

- each case has exactly one flow run (of this engine instance's case deployment);
- each event's work ran exactly once: one ledger row (`case_work`, attempts 1) and one task run
  that did the work (Completed, not served from the cache; one task run a wake-up, handed each
  of the wake-up's events), and the two agree;
- every run caught up and is suspended, on the key of the event after its last;
- nothing accepted was lost: every event a feeder was told was accepted is in the case's log,
  and the outbox is empty;
- the case deployment is Ready while workers are up.

Every case is fed by two feeders sending the same events with the same idempotency keys (two
recording systems): a duplicate is accepted once. The cases are opened before any run exists,
so the three workers' outbox passes and the feeders race to create each case's run.

Run with CIN_RUN_IDEMPOTENCY=false or CIN_CASE_LOCK=false in the environment (handed to every
process) to see what each safety net prevents. Without the idempotency key the test fails within
minutes ("a case has more than one run", with the counts). Without the lock, runs are taken back
from live workers and executed again (the lock is the lease); the test fails if that makes a
ledger row run twice, a task run overlap another of its run, or the runs never settle.
docs/known-limits.md has the measured figures.

Redis: the topology needs a Redis database of its own (prefect-redis's keys have fixed names).
CIN_TEST_REDIS_DB names one (flushed before and after); otherwise the test claims an empty one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import redis
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterId,
    TaskRunFilter,
    TaskRunFilterName,
)
from prefect.client.schemas.objects import DeploymentStatus, FlowRun, StateType, TaskRun
from prefect.client.schemas.sorting import FlowRunSort, TaskRunSort
from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

import models.runtime
from demo.local_server import wait_until
from demo.topology import Topology
from engine.ingest import Ingest
from engine.worker import case_deployment_id
from models.tables import Case, CaseEvent, CaseWork, Outbox
from tests.conftest import drop, pg_database
from tests.flows.prefect_reads import event_seqs
from tests.flows.processes import Worker

REPO = Path(__file__).resolve().parents[2]
# 30 in `make test`: measured alone, 30 cases take 43 s and 66 s of CPU, 60 cases 61 s and 96 s
# (the rest is the processes' start-up and idle work, paid whatever the size); the suite runs it
# beside three other test processes, where its idle work doubles. CIN_TOPOLOGY_CASES=200 for
# the full size (issue 9)
CASES = int(os.environ.get("CIN_TOPOLOGY_CASES", "30"))
FEEDERS = 4  # each case is fed by two of them
EVENTS = [  # ten events after the referral: a legal lifecycle (models/lifecycle), ending open
    {"type": "referral_decision", "on": "2025-03-04", "outcome": "assessment"},
    {"type": "assessment_started", "on": "2025-03-05"},
    {"type": "assessment_completed", "on": "2025-04-01", "outcome": "cin_plan"},
    {"type": "cin_meeting_held", "on": "2025-04-14"},
    {"type": "plan_distributed", "on": "2025-04-22"},
    {"type": "visit_recorded", "on": "2025-04-28"},
    {"type": "review_held", "on": "2025-05-26", "outcome": "continue"},
    {"type": "visit_recorded", "on": "2025-06-09"},
    {"type": "review_held", "on": "2025-07-07", "outcome": "change"},
    {"type": "visit_recorded", "on": "2025-07-21"},
]
LAST_SEQ = 1 + len(EVENTS)
# A feeder: every event of its cases, one round of all its cases per event, each with the key
# a recording system would send; prints what it was told was accepted.
FEED = """
import json, sys
from engine.ingest import Ingest
events = json.loads(sys.argv[1])
ingest = Ingest.from_settings()
for j, event in enumerate(events):
    for ref in sys.argv[2:]:
        accepted = ingest.record(ref, event, key=f"topo-{ref}-{j}")
        print("accepted", ref, accepted.seq, f"topo-{ref}-{j}", flush=True)
"""
# seconds the task-run records may stay unchanged before the lost ones are counted (the
# recorder's batches arrive every few seconds even on a loaded machine)
RECORDS_SETTLE = 60
DEADLINE = 900  # seconds: generous for a loaded 2-core machine; the wait ends when it holds


def redis_database() -> int:
    """CIN_TEST_REDIS_DB, or the highest-numbered empty Redis database, claimed with a key.

    Refused if another client is connected to it: a topology left running by an interrupted
    run (its services process) would consume this one's event streams, and its task runs would
    go missing here with no other sign (seen once, 1,406 of 2,200 task runs)."""
    chosen = os.environ.get("CIN_TEST_REDIS_DB")
    if chosen is not None:
        client = redis.Redis(db=int(chosen))
        client.flushdb()
        return _alone(client, int(chosen))
    for db in range(15, 0, -1):
        client = redis.Redis(db=db)
        if client.set("cin-test-topology-claim", "1", nx=True, ex=3600):
            if client.dbsize() == 1 and not _others(client, db):
                return db
            client.delete("cin-test-topology-claim")
    raise RuntimeError("no empty Redis database for the topology: set CIN_TEST_REDIS_DB")


def _others(client: redis.Redis, db: int) -> list[str]:
    me = client.client_id()
    return [c["addr"] for c in client.client_list() if int(c["db"]) == db and c["id"] != str(me)]


def _alone(client: redis.Redis, db: int) -> int:
    if others := _others(client, db):
        raise RuntimeError(
            f"Redis database {db} has {len(others)} other clients (a topology left running by "
            "an interrupted run?): stop them or set CIN_TEST_REDIS_DB to a free database"
        )
    return db


@pytest.fixture
def topology(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Topology, dict[str, str]]]:
    redis_db = redis_database()
    prefect_name, prefect_url = pg_database("prefect")
    cases_name, cases_url = pg_database("cases")
    topology = Topology(
        tmp_path / "prefect",
        database_url=prefect_url.replace("postgresql+psycopg", "postgresql+asyncpg"),
        redis_db=redis_db,
    )
    cin = {"CIN_DATA_DIR": str(tmp_path), "CIN_DATABASE_URL": cases_url}
    for key, value in cin.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("CIN_CRASH_AT", raising=False)
    models.runtime._engine.cache_clear()
    try:
        topology.start()
        pinned = {
            PREFECT_API_URL: topology.servers[0].api_url,
            PREFECT_API_AUTH_STRING: topology.auth_string,
        }
        with temporary_settings(updates=pinned):
            yield topology, cin
    finally:
        topology.stop()
        drop(prefect_name)
        drop(cases_name)
        redis.Redis(db=redis_db).flushdb()


def instance_runs(deployment: uuid.UUID) -> list[FlowRun]:
    runs: list[FlowRun] = []
    with get_client(sync_client=True) as client:
        while True:
            page = client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment])),
                sort=FlowRunSort.EXPECTED_START_TIME_ASC,
                limit=200,
                offset=len(runs),
            )
            runs += page
            if len(page) < 200:
                return runs


def event_task_runs(run_ids: list[uuid.UUID]) -> list[TaskRun]:
    """The event tasks of these flow runs (one a wake-up, named `<event type> #<seq>, ...` after
    each event it was handed: `event_seqs`), each once.

    Read ten flow runs at a time (about 110 task runs, one page) in a total order (id), and kept
    by id: the services process may still be recording task runs while this reads, and with
    offset pages a row recorded meanwhile shifts the next page, so one task run could be read
    twice (a CI run counted two of them as "an event's task ran twice") or not at all (the
    caller reads again until the task runs agree with the ledger)."""
    found: dict[uuid.UUID, TaskRun] = {}
    with get_client(sync_client=True) as client:
        for start in range(0, len(run_ids), 10):
            offset = 0
            while True:
                page = client.read_task_runs(
                    flow_run_filter=FlowRunFilter(
                        id=FlowRunFilterId(any_=run_ids[start : start + 10])
                    ),
                    task_run_filter=TaskRunFilter(name=TaskRunFilterName(like_="#")),
                    sort=TaskRunSort.ID_DESC,
                    limit=200,
                    offset=offset,
                )
                found.update((t.id, t) for t in page)
                offset += len(page)
                if len(page) < 200:
                    break
    return list(found.values())


def count(engine: Engine, table: type) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


class Watch:
    """Poll a condition (every second) until it holds, checking on the way that no safety net
    has already been breached: no event's work ran twice, no case has a second run. A breach
    fails at once, with the counts, rather than at the deadline."""

    def __init__(self, engine: Engine, deployment: uuid.UUID) -> None:
        self.engine, self.deployment = engine, deployment
        self.runs_checked = 0.0

    def until(self, condition: Callable[[], bool], what: str, timeout: float = DEADLINE) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            self.check()
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}: {self.summary()}")
            time.sleep(1)
        self.check()

    def check(self) -> None:
        with Session(self.engine) as session:
            twice = session.exec(
                select(func.count()).select_from(CaseWork).where(col(CaseWork.attempts) > 1)
            ).one()
        if twice:
            raise AssertionError(f"an event's work ran more than once: {self.summary()}")
        if time.monotonic() - self.runs_checked > 5:
            self.runs_checked = time.monotonic()
            per_case = Counter(str(r.parameters.get("case_ref")) for r in self.runs())
            if per_case and max(per_case.values()) > 1:
                raise AssertionError(f"a case has more than one run: {self.summary()}")

    def runs(self) -> list[FlowRun]:
        return instance_runs(self.deployment)

    def summary(self) -> str:
        """What the run looks like, in counts (for failures and docs/known-limits.md)."""
        runs = self.runs()
        per_case = Counter(str(r.parameters.get("case_ref")) for r in runs)
        states = Counter(r.state.name if r.state else "none" for r in runs)
        with Session(self.engine) as session:
            cases = session.exec(select(Case)).all()
            attempts = Counter(row.attempts for row in session.exec(select(CaseWork)))
        behind = sum(1 for c in cases if c.flow_seq < c.last_seq)
        extra = sum(n - 1 for n in per_case.values() if n > 1)
        return (
            f"{len(runs)} runs for {len(per_case)} cases ({extra} extra runs, "
            f"{sum(1 for n in per_case.values() if n > 1)} cases with more than one); run "
            f"states {dict(states)}; ledger rows by times run {dict(attempts)}; "
            f"{behind} of {len(cases)} cases behind their log"
        )


def caught_up(engine: Engine, deployment: uuid.UUID) -> bool:
    """Every case's run handled its last event and is suspended."""
    with Session(engine) as session:
        behind = session.exec(
            select(func.count())
            .select_from(Case)
            .where((col(Case.flow_seq) < LAST_SEQ) | (col(Case.last_seq) < LAST_SEQ))
        ).one()
    if behind:
        return False
    paused = [r for r in instance_runs(deployment) if r.state and r.state.type is StateType.PAUSED]
    return len(paused) >= CASES


def test_two_api_servers_three_workers_kills_and_restarts(
    topology: tuple[Topology, dict[str, str]],
) -> None:
    topology_, cin = topology
    ingest = Ingest.from_settings()
    deployment = case_deployment_id(ingest.engine)

    def env(server: int) -> dict[str, str]:
        return {**topology_.client_env(server), **cin}

    # workers 0 and 2 on API server A, worker 1 on API server B
    workers = [Worker(env(i), topology_.home / f"worker{i}.log", threads=2) for i in range(3)]
    watch = Watch(ingest.engine, deployment)
    for worker in workers:
        worker.start()
    feeders: list[subprocess.Popen[str]] = []
    try:
        # Ready while workers are up: they poll the pool, and the API marks the deployment
        def ready() -> bool:
            with get_client(sync_client=True) as client:
                return client.read_deployment(deployment).status is DeploymentStatus.READY

        wait_until(ready, 120, "the case deployment to show Ready")

        # opened without delivery: the workers' outbox passes and the feeders race for each run
        quiet = Ingest(ingest.engine, ingest.policies, deliver=False)
        refs = [
            quiet.refer(
                authority="stockton-on-tees", child_ref=f"SYN{i}", on=date(2025, 3, 3)
            ).case_ref
            for i in range(CASES)
        ]
        shares = [[r for i, r in enumerate(refs) if k in (i % FEEDERS, (i + 1) % FEEDERS)]
                  for k in range(FEEDERS)]  # fmt: skip
        feeders = [
            subprocess.Popen(
                [sys.executable, "-c", FEED, json.dumps(EVENTS), *shares[k]],
                env=env(k),
                cwd=REPO,
                stdout=subprocess.PIPE,
                text=True,
                stderr=(topology_.home / f"feeder{k}.log").open("a"),
            )  # fmt: skip
            for k in range(FEEDERS)
        ]

        # mid-run, while the feeders feed and the workers work: kill worker 0 and API server B
        watch.until(
            lambda: (
                count(ingest.engine, CaseEvent) >= CASES * LAST_SEQ // 2
                and count(ingest.engine, CaseWork) >= CASES // 2
            ),
            "half the events accepted and some work done",
        )
        workers[0].stop()  # SIGKILL: its runs are left Running, its case locks die with it
        topology_.servers[1].kill()  # SIGKILL: its worker's and feeders' requests fail meanwhile
        killed_at = count(ingest.engine, CaseWork)
        # the rest carry on: more work is done while both are down
        watch.until(
            lambda: count(ingest.engine, CaseWork) >= killed_at + CASES // 2,
            "work to go on with a worker and an API server down",
        )
        topology_.restart_server(1)
        workers[0].start()

        accepted: set[tuple[str, int, str]] = set()
        for k, feeder in enumerate(feeders):
            out, _ = feeder.communicate(timeout=DEADLINE)
            assert feeder.returncode == 0, f"feeder {k} failed: see {topology_.home}/feeder{k}.log"
            for line in out.splitlines():
                _, ref, seq, key = line.split()
                accepted.add((ref, int(seq), key))

        watch.until(lambda: caught_up(ingest.engine, deployment), "every run to catch up")
        assert ready(), "the case deployment is not Ready while workers are up"
    finally:
        for feeder in feeders:
            if feeder.poll() is None:
                feeder.kill()
        for worker in workers:
            worker.stop()

    runs = instance_runs(deployment)
    why = watch.summary()
    # each case has exactly one flow run
    assert Counter(str(r.parameters["case_ref"]) for r in runs) == dict.fromkeys(refs, 1), why

    with Session(ingest.engine) as session:
        cases = {c.id: c for c in session.exec(select(Case))}
        ledger: Counter[tuple[uuid.UUID | None, int]] = Counter()
        for row in session.exec(select(CaseWork)):
            ledger[(cases[row.case_id].flow_run_id, row.seq)] += row.attempts
        logged = {
            (cases[e.case_id].case_ref, e.seq, e.idempotency_key)
            for e in session.exec(select(CaseEvent))
        }
        undelivered = session.exec(
            select(func.count()).select_from(Outbox).where(col(Outbox.delivered_at).is_(None))
        ).one()

    # nothing accepted was lost: every event accepted once (two feeders sent each)
    assert len(accepted) == CASES * len(EVENTS)
    assert accepted <= logged and len(logged) == CASES * LAST_SEQ
    assert undelivered == 0

    # each event's work ran exactly once, and the task runs agree with the ledger
    assert len(ledger) == CASES * LAST_SEQ, why
    assert Counter(ledger.values()) == {1: CASES * LAST_SEQ}, why
    # Prefect records task-run states from the events its clients send, through Redis to the
    # services process's task-run recorder: on a loaded machine they arrive after the ledger.
    # The ledger is the truth (asserted exactly once above); the task-run records are the UI's
    # picture, and a record in flight in the API server that was SIGKILLed is lost
    # (docs/known-limits.md): it stays Running, or never appears. Those are counted and
    # reported once the picture stops changing; what is asserted is that no event's task ran
    # twice and that no completed task run is for work the ledger does not hold.
    runs_ids = [r.id for r in runs]
    deadline = time.monotonic() + DEADLINE
    picture: tuple[int, int] | None = None
    settled_at = time.monotonic()
    while True:
        task_runs = event_task_runs(runs_ids)
        did_work = Counter(
            (t.flow_run_id, seq)
            for t in task_runs
            if t.state and t.state.type is StateType.COMPLETED and t.state.name == "Completed"
            for seq in event_seqs(t.name)
        )
        assert max(did_work.values(), default=1) == 1, f"an event's task ran twice: {why}"
        assert set(did_work) <= set(ledger), f"a completed task run outside the ledger: {why}"
        # Every run is suspended by now, so no task of it can still be running: a Running task
        # run handed an event whose work is in the ledger and has no Completed task run is the
        # one task run that did that event's work, with its last state lost.
        stranded = Counter(
            (t.flow_run_id, seq)
            for t in task_runs
            if t.state and t.state.type is StateType.RUNNING
            for seq in event_seqs(t.name)
            if (t.flow_run_id, seq) in ledger and (t.flow_run_id, seq) not in did_work
        )
        assert max(stranded.values(), default=1) == 1, f"an event has two task runs: {why}"
        if did_work + stranded == ledger:
            why += f"; {len(stranded)} task runs left Running by the killed API server"
            break
        now_picture = (len(task_runs), sum(did_work.values()))
        if now_picture != picture:
            picture, settled_at = now_picture, time.monotonic()
        if time.monotonic() - settled_at > RECORDS_SETTLE or time.monotonic() > deadline:
            missing = set(ledger) - set(did_work) - set(stranded)
            why += (
                f"; task-run records lost with the killed API server: {len(stranded)} left "
                f"Running, {len(missing)} never recorded (their work is in the ledger once)"
            )
            warnings.warn(why, stacklevel=1)  # reported in the run's summary, not failed on
            break
        time.sleep(2)

    # each case executed in one place at a time: within one execution a run's tasks follow one
    # another, so two finished task runs of one flow run that overlap in time were run by two
    # executions at once (a run taken back from a live worker and claimed again)
    spans: dict[uuid.UUID | None, list[tuple[Any, Any]]] = {}
    for t in task_runs:
        if t.start_time and t.end_time and t.state and t.state.type is StateType.COMPLETED:
            spans.setdefault(t.flow_run_id, []).append((t.start_time, t.end_time))
    overlapping = sum(
        1
        for run_spans in spans.values()
        for (_, end), (start, _) in zip(sorted(run_spans), sorted(run_spans)[1:], strict=False)
        if start < end
    )
    assert overlapping == 0, f"{overlapping} task runs overlapped another of their run: {why}"

    # every run caught up and is suspended on the key of the event after its last
    for run in runs:
        assert run.state is not None and run.state.type is StateType.PAUSED, why
        # `event-12`, or `event-12-w<n>` after a wake that brought no event
        key = str(run.state.state_details.pause_key)
        assert key == f"event-{LAST_SEQ + 1}" or key.startswith(f"event-{LAST_SEQ + 1}-w"), key
    assert all(c.flow_seq == c.last_seq == LAST_SEQ for c in cases.values())
