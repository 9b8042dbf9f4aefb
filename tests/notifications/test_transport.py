"""Delivery through Apprise to real servers on loopback: SMTP (aiosmtpd) and a Teams workflow."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from demo.local_smtp import LocalSmtpServer
from demo.teams_receiver import SIGNATURE, TeamsReceiver
from notifications.transport import DeliveryFailed, Message, send, teams_url_for

TO = "team.manager@redbridge.example"


def email(
    subject: str = "Overdue: assessment RED-000001", body: str = "Due 2025-02-10."
) -> Message:
    return Message(channel="email", to=TO, subject=subject, body=body, key="alert:RED-000001/a/1")


def teams(
    url: str, subject: str = "Due today: RED-000001", body: str = "Due 2025-02-10."
) -> Message:
    return Message(channel="teams", to=url, subject=subject, body=body, key="alert:RED-000001/t/1")


def test_an_email_arrives_with_its_envelope_sender_subject_and_body(
    smtp_server: LocalSmtpServer,
) -> None:
    send(email(), smtp_url=smtp_server.url("cin-alerts@redbridge.example"))

    [got] = smtp_server.messages
    assert got.envelope_from == "cin-alerts@redbridge.example"
    assert got.envelope_to == (TO,)
    assert got.headers["From"] == "cin-alerts@redbridge.example"
    assert got.headers["To"] == TO
    assert got.subject == "Overdue: assessment RED-000001"
    assert got.body == "Due 2025-02-10."
    assert got.headers["Content-Type"].startswith("text/plain")
    assert got.headers["X-CIN-Key"] == "alert:RED-000001/a/1"


def test_non_ascii_arrives_intact_by_email_and_by_teams(
    smtp_server: LocalSmtpServer, teams_receiver: TeamsReceiver
) -> None:
    subject = "Plan review — £0 owed, café déjà vu"
    body = "Line one — dash\nLine two: £25 ✓"
    send(email(subject, body), smtp_url=smtp_server.url())
    send(teams(teams_receiver.apprise_url("cin-east"), subject, body), smtp_url=None)

    [got] = smtp_server.messages
    assert (got.subject, got.body) == (subject, body)
    [posted] = teams_receiver.requests
    assert posted.texts == {"title": subject, "body": body}


def test_a_teams_post_reaches_the_workflow_with_title_and_body(
    teams_receiver: TeamsReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    body = "**Overdue** since 2025-02-11\n- case RED-000001"
    with caplog.at_level(logging.DEBUG):
        send(teams(teams_receiver.apprise_url("cin-east"), body=body), smtp_url=None)
    # apprise logs the URL and the payload at debug level: none of it reached a handler
    assert not [r for r in caplog.records if r.name.startswith("apprise")]

    [posted] = teams_receiver.requests
    assert posted.workflow == "cin-east"
    assert posted.path == "/workflows/cin-east/triggers/manual/paths/invoke"
    assert posted.query["sig"] == SIGNATURE
    assert posted.headers["Content-Type"] == "application/json"
    assert posted.body["type"] == "message"
    assert posted.texts == {"title": "Due today: RED-000001", "body": body}


def test_smtp_down_fails_without_naming_anyone_then_works_again_on_the_same_port(
    smtp_server: LocalSmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    url, port = smtp_server.url(), smtp_server.port
    smtp_server.stop()

    with caplog.at_level(logging.DEBUG), pytest.raises(DeliveryFailed) as failure:
        send(email(), smtp_url=url)
    reason = str(failure.value)
    assert reason == "SMTP delivery failed: connection refused"
    assert "@" not in reason and "127.0.0.1" not in reason
    # apprise's own lines name the server and the recipient: none reached a log handler
    assert not [r for r in caplog.records if r.name.startswith("apprise")]

    smtp_server.start()
    assert smtp_server.port == port
    send(email(), smtp_url=url)
    assert [m.envelope_to for m in smtp_server.messages] == [(TO,)]


def test_a_workflow_answering_500_is_a_failure(teams_receiver: TeamsReceiver) -> None:
    teams_receiver.fail_with = 500
    url = teams_receiver.apprise_url("cin-east")
    with pytest.raises(DeliveryFailed) as failure:
        send(teams(url), smtp_url=None)
    assert str(failure.value) == "Teams delivery failed: HTTP 500"
    assert SIGNATURE not in str(failure.value)
    assert len(teams_receiver.requests) == 1


def test_a_workflow_that_is_not_listening_is_a_failure() -> None:
    with TeamsReceiver() as gone:
        url = gone.apprise_url("cin-east")
    with pytest.raises(DeliveryFailed, match="^Teams delivery failed: connection refused$"):
        send(teams(url), smtp_url=None)


@pytest.mark.parametrize(
    ("smtp_url", "reason"),
    [
        (None, "CIN_SMTP_URL is not set"),
        ("", "CIN_SMTP_URL is not set"),
        ("https://smtp.example/", "must be a mailto:// or mailtos:// URL"),
        ("mailto://127.0.0.1:25/boss@council.example", "must not name recipients"),
        ("mailto://127.0.0.1:25?from=a@council.example&bcc=boss@council.example", "recipients"),
    ],
)
def test_a_missing_or_unusable_smtp_url_is_refused_before_sending(
    smtp_url: str | None, reason: str
) -> None:
    with pytest.raises(DeliveryFailed, match=reason) as failure:
        send(email(), smtp_url=smtp_url)
    assert "@" not in str(failure.value)


def test_a_bad_recipient_or_a_teams_url_for_another_service_is_refused(
    smtp_server: LocalSmtpServer,
) -> None:
    bad = Message(channel="email", to="a@b.example, c@d.example", subject="s", body="b", key="k")
    with pytest.raises(DeliveryFailed, match="recipient address is not valid"):
        send(bad, smtp_url=smtp_server.url())
    with pytest.raises(DeliveryFailed, match="not for Teams"):
        send(teams("json://127.0.0.1:9/"), smtp_url=None)
    with pytest.raises(DeliveryFailed, match="not valid"):
        send(teams("nonsense"), smtp_url=None)
    assert smtp_server.messages == []


def test_the_mail_folder_keeps_each_message_as_an_eml_file(tmp_path: Path) -> None:
    with LocalSmtpServer(folder=tmp_path / "mail") as server:
        send(email(), smtp_url=server.url())
        send(email(subject="second"), smtp_url=server.url())
    files = sorted(p.name for p in (tmp_path / "mail").iterdir())
    assert files == [f"00001-{TO}.eml", f"00002-{TO}.eml"]
    assert b"Subject: second" in (tmp_path / "mail" / files[1]).read_bytes()


URLS = '{"redbridge/cin-east": "workflows://h:443/id/sig/", "stockton-on-tees/north": "x"}'


@pytest.mark.parametrize(
    ("environ", "authority", "team", "expected"),
    [
        ({}, "redbridge", "cin-east", None),
        ({"CIN_TEAMS_URLS": ""}, "redbridge", "cin-east", None),
        ({"CIN_TEAMS_URLS": URLS}, "redbridge", "cin-east", "workflows://h:443/id/sig/"),
        ({"CIN_TEAMS_URLS": URLS}, "redbridge", "cin-west", None),
        ({"CIN_TEAMS_URLS": URLS}, "warwickshire", "cin-east", None),
        ({"CIN_TEAMS_URLS": URLS}, "redbridge", None, None),
    ],
)
def test_teams_url_for_reads_cin_teams_urls(
    environ: dict[str, str], authority: str, team: str | None, expected: str | None
) -> None:
    assert teams_url_for(authority, team, environ) == expected


@pytest.mark.parametrize(
    "value", ['{"redbridge/cin-east": ', '["workflows://h/id/sig/"]', '{"redbridge/cin-east": 1}']
)
def test_a_malformed_cin_teams_urls_names_the_variable(value: str) -> None:
    with pytest.raises(ValueError, match="CIN_TEAMS_URLS") as failure:
        teams_url_for("redbridge", "cin-east", {"CIN_TEAMS_URLS": value})
    assert "authority/team" in str(failure.value)
