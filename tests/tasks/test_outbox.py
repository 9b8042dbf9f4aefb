"""The outbox's housekeeping pass against a real Prefect server: what it asks of Prefect."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

import httpx
from sqlmodel import Session, col, select, update

from engine.ingest import Ingest
from engine.worker import case_deployment_id
from models.tables import Case, Outbox, utcnow
from tasks.outbox import deliver_outbox

QUEUED = 30
GO_LIVE = 12  # cases imported with no run
LOST = 6  # open cases whose runs a lost Prefect database took


@contextmanager
def counted_requests() -> Iterator[Counter[str]]:
    """Every request this process sends, by method and path, counted at the transport (the
    requests still go to the server)."""
    counts: Counter[str] = Counter()
    send = httpx.HTTPTransport.handle_request

    def handle_request(transport, request):  # type: ignore[no-untyped-def]
        counts[f"{request.method} {request.url.path}"] += 1
        return send(transport, request)

    httpx.HTTPTransport.handle_request = handle_request  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        httpx.HTTPTransport.handle_request = send  # type: ignore[method-assign]


def test_a_housekeeping_pass_reads_a_queue_of_runs_in_one_request_not_one_a_case(
    prefect_server, case_db
):
    """After a go-live import the workers' queue holds many new runs, each of its case out of
    step until a thread reaches it. A serving worker's housekeeping pass hands them back as
    waiting, reading them a page at a time: its requests do not grow with the queue."""
    ingest = Ingest.from_settings(deliver=False)
    case_deployment_id(ingest.engine)
    for i in range(QUEUED):
        ingest.refer(authority="redbridge", child_ref=f"QUEUE{i}", on=date(2025, 1, 6))
    made = deliver_outbox(ingest.engine, out_of_step=False)  # no worker: the runs stay queued
    assert made.created == QUEUED
    with Session(ingest.engine) as session:
        # delivered long enough ago for a patient pass to look at them (models/cases/outbox.py
        # STUCK), their runs still waiting for a worker
        session.exec(update(Outbox).values(delivered_at=utcnow() - timedelta(seconds=60)))
        session.commit()
        run_ids = set(session.exec(select(Case.flow_run_id)).all())

    with counted_requests() as counts:
        report = deliver_outbox(ingest.engine, out_of_step=True, settle=True, patient=True)

    assert set(report.run_ids) == run_ids  # each still handed back as waiting to be executed
    assert report.created == report.resumed == report.healed == 0
    run_reads = {k: v for k, v in counts.items() if "/flow_runs" in k}
    assert run_reads == {"POST /api/flow_runs/filter": 1}, counts


def test_with_prefect_down_each_out_of_step_case_is_tried_and_its_failure_kept(
    prefect_server, case_db
):
    """The page read above failing (Prefect down) does not end the pass: each case is tried
    and counted failed (the worker reports it), as with one read a case before."""
    from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    ingest = Ingest.from_settings(deliver=False)
    case_deployment_id(ingest.engine)
    for i in range(3):
        ingest.refer(authority="redbridge", child_ref=f"DOWN{i}", on=date(2025, 1, 6))
    assert deliver_outbox(ingest.engine, out_of_step=False).created == 3
    with Session(ingest.engine) as session:
        session.exec(update(Outbox).values(delivered_at=utcnow() - timedelta(seconds=60)))
        session.commit()

    nowhere = {PREFECT_API_URL: "http://127.0.0.1:9/api", PREFECT_CLIENT_MAX_RETRIES: 0}
    with temporary_settings(updates=nowhere):
        report = deliver_outbox(ingest.engine, out_of_step=True, settle=True, patient=True)
    assert report.failed == 3 and report.run_ids == []  # each tried, none taken as waiting


def _cases(engine) -> list[Case]:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return list(session.exec(select(Case)).all())


def _prefect_runs() -> int:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.count_flow_runs()


def test_a_go_live_import_waits_in_the_outbox_not_in_prefects_queue(prefect_server, case_db):
    """Every case of a go-live import needs a run. A delivery pass makes only `ahead` of them
    while those are queued (no worker here), the housekeeping pass makes none (the cases are
    the outbox's, not out of step), and a resume of a case that has a run is not held behind
    the import's older rows. A worker then makes and executes the rest, a few ahead."""
    from engine.worker import work

    ingest = Ingest.from_settings(deliver=False)
    case_deployment_id(ingest.engine)
    before = _prefect_runs()
    for i in range(GO_LIVE):
        ingest.refer(authority="redbridge", child_ref=f"LIVE{i}", on=date(2025, 1, 6))

    first = deliver_outbox(ingest.engine, out_of_step=False, ahead=4)
    assert first.created == 4 and first.waiting > 0  # the rest left in the outbox
    again = deliver_outbox(ingest.engine, out_of_step=True, settle=True, patient=True, ahead=4)
    assert again.created == 0 and again.waiting > 0
    with Session(ingest.engine) as session:  # as if the runs had waited a while for a worker
        session.exec(
            update(Outbox)
            .where(col(Outbox.delivered_at).is_not(None))
            .values(delivered_at=utcnow() - timedelta(seconds=60))
        )
        session.commit()
    stuck = deliver_outbox(ingest.engine, out_of_step=True, settle=True, patient=True, ahead=0)
    assert stuck.created == 0  # the runless cases are not "out of step"
    assert len(stuck.run_ids) == 4  # the four made, handed back as waiting for a worker
    assert sum(case.flow_run_id is not None for case in _cases(ingest.engine)) == 4
    assert _prefect_runs() - before == 4

    work(ingest.engine, threads=2, until_idle=True)  # makes the rest, `ahead` at a time
    cases = _cases(ingest.engine)
    assert all(case.flow_run_id is not None for case in cases)
    assert all(case.flow_seq == case.last_seq for case in cases)
    assert _prefect_runs() - before == GO_LIVE  # one run a case, none twice

    # a case with a run and a new event comes before any runless case, however old its rows
    made = cases[0]
    for i in range(GO_LIVE):
        ingest.refer(authority="redbridge", child_ref=f"LATE{i}", on=date(2025, 1, 6))
    ingest.record(
        made.case_ref,
        {"type": "referral_decision", "on": "2025-01-07", "outcome": "assessment"},
        key="resume-first",
    )
    resumed = deliver_outbox(ingest.engine, limit=1, out_of_step=False, ahead=0)
    assert resumed.resumed == 1 and resumed.created == 0 and resumed.waiting > 0


def test_a_lost_prefect_database_has_its_runs_made_again_a_few_at_a_time(prefect_server, case_db):
    """The server loses the case deployment and every run (deleted here through its API, as an
    emptied database leaves them). The worker that notices hands the open cases back to the
    outbox: its pass makes only `ahead` runs, the rest wait without a run and are not out of
    step; a worker then makes one new run a case, each suspended in step, and the ledger shows
    no work done twice."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.client.schemas.objects import StateType

    from engine.worker import _outbox_pass, work
    from models.tables import CaseWork

    ingest = Ingest.from_settings(deliver=False)
    engine = ingest.engine
    lost_deployment = case_deployment_id(engine)
    for i in range(LOST):
        case_ref = ingest.refer(
            authority="redbridge", child_ref=f"LOST{i}", on=date(2025, 1, 6)
        ).case_ref
        if i % 2:  # half of them a second event, handled by the lost run
            ingest.record(
                case_ref,
                {"type": "referral_decision", "on": "2025-01-07", "outcome": "assessment"},
                key=f"lost-{i}",
            )
    work(engine, threads=2, until_idle=True)
    before = {case.case_ref: case for case in _cases(engine)}
    assert all(case.flow_seq == case.last_seq for case in before.values())

    def ledger() -> list[tuple[object, int, int]]:
        with Session(engine) as session:
            rows = session.exec(select(CaseWork.case_id, CaseWork.seq, CaseWork.attempts))
            return sorted((str(c), s, a) for c, s, a in rows)

    done = ledger()
    with get_client(sync_client=True) as client:  # the server's database lost
        for case in before.values():
            assert case.flow_run_id is not None
            client.delete_flow_run(case.flow_run_id)
        client.delete_deployment(lost_deployment)

    first = _outbox_pass(engine, with_housekeeping=True, ahead=2)
    assert first.created == 2 and first.waiting == LOST - 2
    after = _cases(engine)
    assert sum(case.flow_run_id is not None for case in after) == 2
    assert all(case.flow_seq == case.last_seq - 1 for case in after)  # the last event again

    work(engine, threads=2, until_idle=True)
    deployment = case_deployment_id(engine)
    assert deployment != lost_deployment
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment]))
        )
    by_case = Counter(str(run.parameters["case_ref"]) for run in runs)
    assert by_case == Counter(list(before))  # one run a case
    assert all(run.state is not None and run.state.type is StateType.PAUSED for run in runs)
    for case in _cases(engine):
        assert case.flow_seq == case.last_seq == before[case.case_ref].last_seq
        assert (
            case.flow_run_id is not None and case.flow_run_id != before[case.case_ref].flow_run_id
        )
    assert ledger() == done  # no event's work done again


def test_each_worker_keeps_its_own_threads_share_of_a_go_live_queued(prefect_server, case_db):
    """Two workers' allowances of 2 each keep 4 runs queued: counted against the instance's
    total, as the reconciler's backstop still is, the second worker would make none."""
    from tasks.outbox import RunAllowance

    ingest = Ingest.from_settings(deliver=False)
    case_deployment_id(ingest.engine)
    before = _prefect_runs()
    for i in range(GO_LIVE):
        ingest.refer(authority="redbridge", child_ref=f"SHARE{i}", on=date(2025, 1, 6))
    one, two = (RunAllowance(ingest.engine, 2, own=True) for _ in range(2))

    assert deliver_outbox(ingest.engine, out_of_step=False, ahead=one).created == 2
    assert deliver_outbox(ingest.engine, out_of_step=False, ahead=two).created == 2
    assert deliver_outbox(ingest.engine, out_of_step=False, ahead=one).created == 0  # its 2 queued
    assert deliver_outbox(ingest.engine, out_of_step=False, ahead=2).created == 0  # 4 in flight
    assert _prefect_runs() - before == 4
    assert one() == two() == 0 and len(one.mine or ()) == len(two.mine or ()) == 2

    with Session(ingest.engine) as session:  # no longer in flight: waited past STUCK
        session.exec(
            update(Outbox)
            .where(col(Outbox.delivered_at).is_not(None))
            .values(delivered_at=utcnow() - timedelta(seconds=60))
        )
        session.commit()
    assert one() == 2 and one.mine == set()
    assert deliver_outbox(ingest.engine, out_of_step=False, ahead=one).created == 2
