"""Sending what the monitor composed: every dispatch due for an attempt goes through Apprise and is
marked sent; a failure stays pending with its reason and a backed-off next attempt (doubling from
`MonitorConfig.retry_seconds`, at most an hour)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from models.alerts.dispatch import mark_failed, mark_sent, pending_dispatches
from models.staff.store import staff_email
from models.tables import Dispatch
from notifications.report import MonitorConfig, PassReport
from notifications.transport import (
    DeliveryFailed,
    Message,
    ServerUnreachable,
    send,
    teams_url_for,
)

SEND_PAGE = 500
MAX_BACKOFF = timedelta(hours=1)

CrashHook = Callable[[str, int], None]


def deliver(
    engine: Engine,
    *,
    now: datetime,
    config: MonitorConfig,
    report: PassReport | None = None,
    crash: CrashHook | None = None,
    limit: int | None = None,
) -> tuple[int, int]:
    """Send every dispatch due for an attempt at `now` (at most `limit`), `config.send_threads`
    at a time, page by page; (sent, failed). A failure is not due again until its backoff has
    passed, so each page brings new work and the loop ends."""
    sent = failed = 0
    lock = threading.Lock()
    unreachable: dict[str, str] = {}  # channel -> why its server could not be used this pass

    def attempt(dispatch: Dispatch) -> None:
        nonlocal sent, failed
        down = unreachable.get(dispatch.channel) if dispatch.channel == "email" else None
        ok = _attempt(engine, dispatch, now=now, config=config, unreachable=unreachable, down=down)
        with lock:
            if ok:
                sent += 1
                if report is not None:
                    report.sent_by[(dispatch.channel, dispatch.recipient)] += 1
                if crash is not None:
                    crash("monitor-sent", sent)
            else:
                failed += 1

    left = limit
    while left is None or left > 0:
        size = SEND_PAGE if left is None else min(SEND_PAGE, left)
        with Session(engine, expire_on_commit=False) as session:
            page = pending_dispatches(session, now=now, limit=size)
        if not page:
            break
        if left is not None:
            left -= len(page)
        if config.send_threads <= 1:
            for dispatch in page:
                attempt(dispatch)
        else:
            with ThreadPoolExecutor(config.send_threads, thread_name_prefix="cin-send") as pool:
                list(pool.map(attempt, page))
        if len(page) < size:
            break
    if report is not None:
        report.sent += sent
        report.failed += failed
    return sent, failed


def _attempt(
    engine: Engine,
    dispatch: Dispatch,
    *,
    now: datetime,
    config: MonitorConfig,
    unreachable: dict[str, str],
    down: str | None,
) -> bool:
    """Send one dispatch and record the outcome; True if it was sent.

    Once the SMTP server has failed as a server (refused, silent, unknown) in this pass, the
    pass's other emails are not tried: each is recorded as failed with that reason and the same
    backoff, as if it had been, so a server that never greets costs one timeout a pass, not one
    a message (the same rule as a server that is down)."""
    with Session(engine, expire_on_commit=False) as session:
        address = _address(session, dispatch.authority, dispatch.recipient, config)
    try:
        if down is not None:
            raise DeliveryFailed(f"{down} (not tried: the server failed earlier in this pass)")
        if address is None:
            raise DeliveryFailed(f"no address for {dispatch.recipient} in {dispatch.authority}")
        send(
            Message(
                channel=dispatch.channel,
                to=address,
                subject=dispatch.subject,
                body=dispatch.body,
                key=dispatch.key,
            ),
            smtp_url=config.smtp_url,
        )
    except DeliveryFailed as failure:
        if isinstance(failure, ServerUnreachable) and dispatch.channel == "email":
            unreachable.setdefault(dispatch.channel, str(failure))
        backoff = min(timedelta(seconds=config.retry_seconds * 2**dispatch.attempts), MAX_BACKOFF)
        with Session(engine) as session:
            mark_failed(session, dispatch.id, now=now, error=str(failure), backoff=backoff)
        return False
    with Session(engine) as session:
        mark_sent(session, dispatch.id, now=now)
    return True


def _address(session: Session, authority: str, recipient: str, config: MonitorConfig) -> str | None:
    kind, _, ident = recipient.partition(":")
    if kind == "staff":
        return staff_email(session, authority, ident)
    if kind == "team":
        return teams_url_for(authority, ident, config.environ)
    return None
