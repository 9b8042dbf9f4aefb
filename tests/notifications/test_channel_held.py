"""A channel the policy names is never dropped: with no Teams URL for a team, the team
manager's Teams alerts are held and reported, and reach the team's channel once it is set.

Redbridge takes the engine's channels (policies/engine-defaults.yaml: the team manager is told
by email and Teams). Real SMTP server, real HTTPS receiver standing in for the Teams workflow."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from cli.main import main as cin
from demo.local_smtp import LocalSmtpServer
from demo.teams_receiver import TeamsReceiver
from models.policy.book import PolicyBook
from models.tables import Alert
from notifications.monitor import MonitorConfig, run_pass
from tests.notifications.caseload import ADDRESSES, AS_OF, overdue_caseload


def test_a_teams_channel_with_no_url_is_held_reported_then_told_once(
    engine: Engine,
    book: PolicyBook,
    db_url: str,
    smtp_server: LocalSmtpServer,
    teams_receiver: TeamsReceiver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    refs = overdue_caseload(engine, book)
    without = MonitorConfig(ui_url="http://ui.example", smtp_url=smtp_server.url(), environ={})
    first = run_pass(engine, book, as_of=AS_OF, now=datetime.now(UTC), config=without)
    with Session(engine) as session:
        held = [a for a in session.exec(select(Alert)) if a.mode == "held"]
    assert sorted(a.case_ref for a in held) == sorted(refs)  # one per item's team manager rung
    assert {(a.role, a.recipient) for a in held} == {
        ("team_manager", "no-teams-url:east"),
        ("team_manager", "no-teams-url:west"),
    }
    assert first.unrouted == len(refs)
    assert not teams_receiver.requests
    emailed_tm = [m for m in smtp_server.messages if m.envelope_to[0] == ADDRESSES["TME"]]
    assert emailed_tm, "the email channel was told as usual"

    monkeypatch.setenv("CIN_DATABASE_URL", db_url)
    monkeypatch.delenv("CIN_TEAMS_URLS", raising=False)
    assert cin(["monitor", "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    teams_gaps = {(u["team"], u["alerts"]) for u in status["unrouted"] if u["channel"] == "teams"}
    assert teams_gaps == {("east", 4), ("west", 4)}
    assert cin(["monitor", "status"]) == 0
    assert "CIN_TEAMS_URLS has no URL for redbridge/east" in capsys.readouterr().out
    assert cin(["config", "show"]) == 0
    assert "redbridge: the policy tells team_manager by Teams" in capsys.readouterr().out

    # the URLs are configured; the next working day each held item reaches its team once
    urls = {f"redbridge/{t}": teams_receiver.apprise_url(f"cin-{t}") for t in ("east", "west")}
    with_urls = MonitorConfig(
        ui_url="http://ui.example", smtp_url=smtp_server.url(), environ={
            "CIN_TEAMS_URLS": json.dumps(urls)
        },
    )  # fmt: skip
    emails_before = len(smtp_server.messages)
    later = run_pass(engine, book, as_of=date(2025, 4, 2), now=datetime.now(UTC), config=with_urls)
    assert later.released == len(refs)
    told = Counter(
        ref for r in teams_receiver.requests for ref in refs if ref in json.dumps(r.body)
    )
    assert set(told) == set(refs) and set(told.values()) == {1}, told
    assert {r.workflow for r in teams_receiver.requests} == {"cin-east", "cin-west"}
    tme_again = [
        m for m in smtp_server.messages[emails_before:] if m.envelope_to[0] == ADDRESSES["TME"]
    ]
    assert not any(ref in m.body for m in tme_again for ref in refs if "overdue" in m.subject), (
        "releasing the Teams alerts re-sent no email"
    )
    with Session(engine) as session:
        modes = Counter(a.mode for a in session.exec(select(Alert)))
    assert modes["held"] == 0 and modes["released"] == len(refs)

    posted = len(teams_receiver.requests)
    run_pass(engine, book, as_of=date(2025, 4, 3), now=datetime.now(UTC), config=with_urls)
    assert len(teams_receiver.requests) == posted  # told once
