"""What managers read, through a real SMTP server: the rule that applied in plain English with
its citation last, why the recipient is told (the rung), a link that opens the case; and held
alerts that reach whoever later takes the role, once."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from cli.main import main as cin
from demo.local_smtp import LocalSmtpServer
from models.cases.store import record
from models.lifecycle import parse_event
from models.policy.book import PolicyBook
from models.staff.roster import parse_staff_csv
from models.staff.store import import_staff
from models.tables import Alert
from notifications.monitor import MonitorConfig, run_pass
from tests.notifications.caseload import ADDRESSES, AS_OF, ROSTER, overdue_caseload

UI = "http://ui.example"
# the roster before the service manager and head of service were added: nobody holds rungs 2, 3
TEAM_MANAGERS_ONLY = "\n".join(
    line for line in ROSTER.splitlines() if not line.startswith(("HS1", "SM1"))
).replace(",SM1", ",")


def config(smtp: LocalSmtpServer) -> MonitorConfig:
    return MonitorConfig(ui_url=UI, smtp_url=smtp.url(), environ={})


def to(smtp: LocalSmtpServer, staff_id: str) -> list[str]:
    return [
        m.subject + "\n" + m.body for m in smtp.messages if m.envelope_to[0] == ADDRESSES[staff_id]
    ]


def test_held_alerts_reach_whoever_takes_the_role_once(
    engine: Engine,
    book: PolicyBook,
    db_url: str,
    smtp_server: LocalSmtpServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    refs = overdue_caseload(engine, book)
    import_staff(engine, authority="redbridge", rows=parse_staff_csv(TEAM_MANAGERS_ONLY))
    first = run_pass(engine, book, as_of=AS_OF, now=datetime.now(UTC), config=config(smtp_server))
    # each item's service manager and head of service rungs, and its team manager's Teams
    # channel (the engine's channels; no CIN_TEAMS_URLS here: tests/notifications/test_channel_held)
    assert first.unrouted == 8 * 2 + 8
    assert not to(smtp_server, "SM1") and not to(smtp_server, "HS1")
    monkeypatch.setenv("CIN_DATABASE_URL", db_url)
    assert cin(["monitor", "status"]) == 0
    status = capsys.readouterr().out
    assert "held: 8 alerts for the service_manager of redbridge/east" not in status
    assert "told at the first monitor pass after someone takes the role" in status

    # the roster arrives; the next working day each held item still overdue reaches them once
    import_staff(engine, authority="redbridge", rows=parse_staff_csv(ROSTER))
    later = run_pass(
        engine, book, as_of=date(2025, 4, 2), now=datetime.now(UTC), config=config(smtp_server)
    )
    assert later.released == 16
    for staff_id, role in (("SM1", "service manager"), ("HS1", "head of service")):
        told = "\n".join(to(smtp_server, staff_id))
        mentioned = Counter(re.findall(r"RED-\d{6}(?=: )", told))
        assert mentioned == dict.fromkeys(refs, 1), f"{staff_id} hears of each item once"
        assert f"you are told as the {role}: " in told.lower()
    with Session(engine) as session:
        modes = Counter(a.mode for a in session.exec(select(Alert)))
    assert modes["held"] == 8 and modes["released"] == 16  # the Teams ones wait for their URL

    # and never again
    sent = len(smtp_server.messages)
    run_pass(
        engine, book, as_of=date(2025, 4, 3), now=datetime.now(UTC), config=config(smtp_server)
    )
    assert len(smtp_server.messages) == sent


def test_every_message_says_the_rule_whose_it_is_why_you_and_links_the_case(
    engine: Engine, book: PolicyBook, smtp_server: LocalSmtpServer
) -> None:
    refs = overdue_caseload(engine, book)
    # a plan that sets visits every 2 weeks (Redbridge sets no minimum: 003 s8/s10)
    record(engine, policies=book, case_ref=refs[0], event=parse_event(
        {"type": "cin_meeting_held", "on": "2025-02-17",
         "visit_frequency": {"amount": 2, "unit": "weeks"}}))  # fmt: skip
    run_pass(engine, book, as_of=AS_OF, now=datetime.now(UTC), config=config(smtp_server))

    assert smtp_server.messages
    for message in smtp_server.messages:
        text = message.subject + "\n" + message.body
        assert "runs (the case run has not started yet)" not in text
        assert "engine default" not in text.lower()
        assert not re.search(r"\b00[0-4]\b", text), "a bare document number"
        for ref in set(re.findall(r"RED-\d{6}", text)):
            assert re.search(rf"{UI}/artifacts/key/case-[0-9a-f]+-{ref.lower()}", text), ref
        # each rule states whose rule it is, then its citation last
        rules = re.findall(r"(?im)^\s*rule: (.*)$", text)
        assert rules
        for rule in rules:
            assert re.search(r"(the statutory rule|'s policy|this case's plan|this system's)", rule)
            assert "Source: " in rule and rule.index("Source: ") > rule.index(",")
        assert re.search(r"you are told as the (team manager|service manager|head of service): "
                         r"\d+ working days? overdue", text, re.IGNORECASE)  # fmt: skip

    everything = "\n".join(m.body for m in smtp_server.messages)
    # the plan's visit frequency is cited as the plan's, not as the engine's default
    assert "a visit every 2 weeks, as this case's plan sets. Source: the case's plan" in everything
    assert "Children's Commissioner" not in everything
    # the statutory rule, named: Working Together, for the undecided referrals (urgent)
    assert (
        "the referral decision within 1 working day of the referral, the statutory rule "
        "(national guidance; London Borough of Redbridge sets no rule of its own). Source: "
        "Working Together to Safeguard Children (2018), chapter 1" in everything
    )
    urgent = [m for m in smtp_server.messages if "URGENT" in m.subject]
    assert urgent and all("Why you: You are told as the" in m.body for m in urgent)
    assert any("(rung 2 of 3); next the head of service at 10 working days overdue" in m.body
               for m in urgent)  # fmt: skip
    assert json.dumps([m.body for m in smtp_server.messages]).count("CHILDSECRET") == 0
