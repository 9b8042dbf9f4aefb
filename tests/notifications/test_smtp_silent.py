"""A mail server that accepts the connection and never greets: a real socket that says nothing.

Each message used to wait out the whole timeout; now the first times out, is recorded as a
server failure, and the pass's other emails wait for the same backoff as when the server is down.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from demo.local_smtp import LocalSmtpServer
from models.policy.book import PolicyBook
from models.tables import Dispatch
from notifications.monitor import MonitorConfig, deliver, run_pass
from notifications.transport import (
    SMTP_CONNECT_TIMEOUT_SECONDS,
    Message,
    ServerUnreachable,
    send,
)
from tests.notifications.caseload import AS_OF, EXPECTED_MESSAGES, overdue_caseload


class SilentServer:
    """Listens on a loopback port, accepts every connection, never writes a byte."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            self.held.append(connection)  # kept open, silent

    def url(self, timeout: int | None = None) -> str:
        extra = f"&cto={timeout}" if timeout is not None else ""
        return f"mailto://127.0.0.1:{self.port}?from=cin-alerts@council.example{extra}"

    def close(self) -> None:
        self.listener.close()
        for connection in self.held:
            connection.close()


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.close()


def test_one_message_times_out_as_an_unreachable_server(silent: SilentServer) -> None:
    message = Message("email", "tm@redbridge.example", "Overdue: RED-000001", "Due.", "k1")
    started = time.monotonic()
    with pytest.raises(ServerUnreachable, match="^SMTP delivery failed: timed out$"):
        send(message, smtp_url=silent.url())
    took = time.monotonic() - started
    assert SMTP_CONNECT_TIMEOUT_SECONDS - 0.5 <= took < SMTP_CONNECT_TIMEOUT_SECONDS + 3
    assert silent.accepted == 1


def test_a_pass_waits_once_not_once_a_message_and_backs_off_like_a_down_server(
    engine: Engine,
    book: PolicyBook,
    silent: SilentServer,
    smtp_server: LocalSmtpServer,
) -> None:
    overdue_caseload(engine, book)
    config = MonitorConfig(ui_url="http://ui.example", smtp_url=silent.url(timeout=1), environ={})
    started = datetime.now(UTC)
    clock = time.monotonic()
    report = run_pass(engine, book, as_of=AS_OF, now=started, config=config)
    took = time.monotonic() - clock

    assert EXPECTED_MESSAGES > 3
    assert (report.sent, report.failed) == (0, EXPECTED_MESSAGES)
    assert silent.accepted == 1, "every message after the first waited out its own timeout"
    assert took < 1 + 10  # one timeout and the pass's own work, not EXPECTED_MESSAGES timeouts
    with Session(engine) as session:
        waiting = list(session.exec(select(Dispatch)))
    assert all(d.attempts == 1 and d.sent_at is None for d in waiting)
    assert all((d.last_error or "").startswith("SMTP delivery failed: timed out") for d in waiting)
    retry_at = min(d.next_attempt_at.replace(tzinfo=UTC) for d in waiting)
    assert retry_at >= started + timedelta(seconds=60)  # the down-server backoff

    # nothing is tried again before the backoff; after it, a server that greets gets them all
    assert deliver(engine, now=started + timedelta(seconds=30), config=config) == (0, 0)
    assert silent.accepted == 1
    working = MonitorConfig(ui_url="http://ui.example", smtp_url=smtp_server.url(), environ={})
    assert deliver(engine, now=retry_at, config=working) == (EXPECTED_MESSAGES, 0)
    assert len(smtp_server.messages) == EXPECTED_MESSAGES
