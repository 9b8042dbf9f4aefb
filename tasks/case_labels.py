"""Keep overdue cases visible in the Prefect UI's runs list between their own wake-ups.

A case run labels itself each time it suspends (tags `overdue` and `rung:<role>`, a Paused state
named "Overdue" whose message says "overdue since ..."). Work goes overdue while the run sleeps,
so each monitor pass relabels the runs whose label is out of date, directly: it does not wake
them (a wake costs a run execution; a first pass over a backlog would queue thousands). Runs are
found in pages by their `overdue` tag, so a pass reads the labelled runs once and writes only
the ones that changed: every overdue case's run says so by the end of the pass that found it,
at any backlog size.

Relabelling a suspended run means setting its Paused state again, forced (Prefect refuses a
Paused -> Paused proposal), with the same pause key and run-input keyset, so a later resume
works exactly as before. A resume that lands between the read and the write would be
overwritten; the write is then followed by a read of the run's state history, and a run whose
state changed in between is put back to "Resuming" (Scheduled) so a worker still runs it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import date

from prefect.client.orchestration import SyncPrefectClient
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterTags,
)
from prefect.client.schemas.objects import FlowRun, State, StateType
from prefect.client.schemas.sorting import FlowRunSort
from prefect.exceptions import ObjectNotFound
from prefect.states import Scheduled
from sqlalchemy import Engine

from models.cases.reads import UnknownCase
from models.cases.view import OVERDUE_TAG, CaseSnapshot, load_snapshot
from models.instance import instance_id, instance_tag
from tasks.case_work import rung_roles

PAGE = 200
log = logging.getLogger("cin.monitor")


def labelled_overdue(client: SyncPrefectClient, instance: str) -> dict[uuid.UUID, FlowRun]:
    """Every flow run of this engine instance tagged `overdue`, read a page at a time."""
    runs: dict[uuid.UUID, FlowRun] = {}
    offset = 0
    while True:
        page = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                tags=FlowRunFilterTags(all_=[OVERDUE_TAG, instance_tag(instance)])
            ),
            sort=FlowRunSort.ID_DESC,
            limit=PAGE,
            offset=offset,
        )
        runs.update((run.id, run) for run in page)
        if len(page) < PAGE:
            return runs
        offset += PAGE


def relabel_runs(
    client: SyncPrefectClient,
    engine: Engine,
    today: date,
    overdue: dict[str, uuid.UUID | None],
    changed: Iterable[str],
) -> int:
    """Bring the labels of these runs up to date; returns how many runs were written to.

    `overdue`: every case with work past due today, with its run; `changed`: cases whose
    overdue work changed in this pass (newly overdue, or a rung told)."""
    instance = instance_id(engine)
    labelled = labelled_overdue(client, instance)
    by_case = {str(run.parameters.get("case_ref", run.name)): run for run in labelled.values()}
    changed = set(changed)
    todo = {
        ref for ref, run_id in overdue.items() if run_id and (ref not in by_case or ref in changed)
    }
    todo |= {ref for ref in by_case if ref not in overdue}  # met or cancelled since
    written = 0
    for case_ref in sorted(todo):
        try:
            snapshot = load_snapshot(engine, case_ref)
        except UnknownCase:
            continue  # a run of another case database on the same server
        run_id = overdue.get(case_ref) or by_case[case_ref].id
        try:
            written += relabel(client, client.read_flow_run(run_id), snapshot, today, instance)
        except ObjectNotFound:
            # the run is gone (the Prefect database was lost or restored from a backup): the
            # case database is the record, the reconciler makes the case a new run, which
            # labels itself when it suspends; this pass goes on (issue 26)
            log.warning("case %s: its run %s is not on the Prefect server", case_ref, run_id)
    return written


def relabel(
    client: SyncPrefectClient, run: FlowRun, snapshot: CaseSnapshot, today: date, instance: str
) -> bool:
    """Set the run's tags, and a suspended run's state name and message, from the case."""
    wrote = False
    tags = [*snapshot.tags(today, rung_roles(snapshot.authority, today)), instance_tag(instance)]
    if set(run.tags) != set(tags):
        client.update_flow_run(run.id, tags=tags)
        wrote = True
    state = run.state
    if state is None or state.type is not StateType.PAUSED:
        return wrote  # working, or about to: the run labels itself when it suspends
    name, message = snapshot.state_name(today), snapshot.waiting_message(today)
    if state.name == name and state.message == message:
        return wrote
    relabelled: State[object] = State(
        type=StateType.PAUSED,
        name=name,
        message=message,
        state_details=state.state_details.model_copy(),
    )
    written = client.set_flow_run_state(run.id, relabelled, force=True).state
    if written is not None and _overtaken(client, run.id, before=state.id, ours=written.id):
        # a resume landed between our read and our write: hand the run back to the workers
        client.set_flow_run_state(run.id, Scheduled(name="Resuming"), force=True)
    return True


def _overtaken(
    client: SyncPrefectClient, run_id: uuid.UUID, *, before: uuid.UUID, ours: uuid.UUID
) -> bool:
    """Whether another state came between the one we read (`before`) and the one we wrote."""
    history = sorted(client.read_flow_run_states(run_id), key=lambda s: s.timestamp)
    ids = [s.id for s in history]
    if ours not in ids or before not in ids:
        return True
    return ids.index(ours) - ids.index(before) != 1
