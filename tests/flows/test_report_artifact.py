"""The scheduled monitor publishes the report's headline table as an artifact, once a day."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlmodel import Session

from flows.monitor import deadline_monitor
from models.cases.store import sync_authorities
from models.instance import instance_id, report_artifact_key
from models.runtime import case_engine, policies
from tests.flows.prefect_reads import read_artifacts
from tests.models.report.histories import build


def test_the_monitor_publishes_the_headline_table_once_a_day(
    prefect_server: None, case_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CIN_TODAY", "2025-03-31")
    with Session(case_engine()) as session:
        sync_authorities(session, policies=policies())
    build(case_engine(), policies())
    key = report_artifact_key(instance_id(case_engine()))
    before = len(read_artifacts(key))

    deadline_monitor(as_of=date(2025, 3, 31))
    deadline_monitor(as_of=date(2025, 3, 31))  # the same day: served from the task's cache

    versions = read_artifacts(key)
    assert len(versions) == before + 1
    rows = {row["measure"]: row for row in json.loads(versions[0].data)}
    # the 12 months to 31 March 2025 are the hand-counted period of report_histories.py
    assert rows["referrals_total"]["redbridge"] == "10"
    assert rows["closures_to_early_help_pct"]["redbridge"] == "42.9"
    assert "001 line 113" in rows["closures_to_early_help_pct"]["published (seed)"]
    assert "childa" not in versions[0].data  # case references only, never a child's

    deadline_monitor(as_of=date(2025, 4, 1))  # the next day publishes again
    assert len(read_artifacts(key)) == before + 2
