"""The outbox's housekeeping pass against a real Prefect server: what it asks of Prefect."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

import httpx
from sqlmodel import Session, select, update

from engine.ingest import Ingest
from engine.worker import case_deployment_id
from models.tables import Case, Outbox, utcnow
from tasks.outbox import deliver_outbox

QUEUED = 30


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
