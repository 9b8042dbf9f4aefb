"""What every request passes before a route: the per-client rate, the body's type and size, and
the access log row written before the caller hears the answer (a pure ASGI middleware, so an
over-long body is refused without being read whole)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from threading import Lock
from typing import Any

import anyio.to_thread
from sqlalchemy import Engine

from api.errors import error_response
from models.access.audit import AUDIT_INSERT, audit_values

log = logging.getLogger("cin.api")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_KEY_ID = re.compile(rb"Bearer cin_([0-9a-f]{16})_")
WRITES = ("POST", "PUT", "PATCH")
UNAUDITED = ("/v1/health",)  # a liveness probe touches no case: polled every few seconds


@dataclass
class TokenBuckets:
    """Requests per client per second, with a burst: one bucket per key id (or address)."""

    rate: float
    burst: int
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)
    _lock: Lock = field(default_factory=Lock)

    def take(self, who: str, now: float) -> float:
        """0 if `who` may go now; else the seconds until it may."""
        with self._lock:
            tokens, then = self._buckets.get(who, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * self.rate)
            if tokens >= 1:
                self._buckets[who] = (tokens - 1, now)
                return 0.0
            self._buckets[who] = (tokens, now)
            return (1 - tokens) / self.rate


class Guard:
    def __init__(
        self, app: ASGIApp, *, engine: Engine, max_body: int, rate: float, burst: int
    ) -> None:
        self.app, self.engine, self.max_body = app, engine, max_body
        self.buckets = TokenBuckets(rate, burst)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        headers = dict(scope.get("headers", []))
        key_id = _KEY_ID.match(headers.get(b"authorization", b""))
        who = key_id.group(1).decode() if key_id else f"addr:{(scope.get('client') or ('?',))[0]}"
        state["key_id"] = key_id.group(1).decode() if key_id else None
        audited = scope["path"].startswith("/v1/") and scope["path"] not in UNAUDITED

        async def send_audited(message: Message) -> None:
            if message["type"] == "http.response.start" and audited:
                await self._audit(scope, int(message["status"]))
            await send(message)

        wait = self.buckets.take(who, time.monotonic())
        if wait:
            response = error_response(
                429,
                "rate_limited",
                f"expected at most {self.buckets.rate:g} requests per second per client; "
                f"retry after {wait:.2f} s",
                **{"Retry-After": str(max(1, round(wait + 0.5)))},
            )
            await response(scope, receive, send_audited)
            return
        if scope["method"] in WRITES:
            refusal = self._refuse_body(headers)
            if refusal is not None:
                await refusal(scope, receive, send_audited)
                return
            body = await self._read(receive)
            if body is None:
                too_big = error_response(
                    413, "too_large", f"body: expected at most {self.max_body} bytes", "body"
                )
                await too_big(scope, receive, send_audited)
                return
            receive = _replay(body, receive)
        await self.app(scope, receive, send_audited)

    def _refuse_body(self, headers: dict[bytes, bytes]) -> Any:
        kind = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if kind != b"application/json":
            return error_response(
                415,
                "unsupported_media_type",
                "Content-Type: expected application/json",
                "Content-Type",
            )
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            return error_response(
                413, "too_large", f"body: expected at most {self.max_body} bytes", "body"
            )
        return None

    async def _read(self, receive: Receive) -> bytes | None:
        """The whole body, or None as soon as it passes the limit."""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        return b"".join(chunks)

    async def _audit(self, scope: Scope, status: int) -> None:
        if scope.get("state", {}).get("audited"):
            return  # written in the commit that answered the request (api/transaction.py)
        entry = audit_row(scope, status)
        try:
            await anyio.to_thread.run_sync(self._write, entry)
        except Exception as error:  # the answer stands; the gap is logged, without the request
            log.error("audit row not written (%s)", type(error).__name__)

    def _write(self, entry: dict[str, Any]) -> None:
        with self.engine.begin() as connection:
            connection.execute(AUDIT_INSERT, entry)


def audit_row(scope: Scope, status: int) -> dict[str, Any]:
    """The access-log row of a request answered `status`: who, which route, which case or
    child, how it went; never the body (the values of `AUDIT_INSERT`: no ORM object to flush)."""
    state = scope.get("state", {})
    client = state.get("client")
    if client is not None:
        actor, authority = client.label, client.authority
    elif state.get("key_id"):
        actor, authority = f"unverified key ({state['key_id']})", None
    else:
        actor, authority = "anonymous", None
    route = scope.get("route")
    path = getattr(route, "path", None) or "(no route)"
    case_ref = (scope.get("path_params") or {}).get("case_ref") or state.get("case_ref")
    return audit_values(
        actor_kind="api",
        actor=actor,
        action=f"{scope['method']} {path}",
        outcome=f"{status} {state.get('outcome', '')}".strip(),
        authority=authority,
        case_ref=case_ref if isinstance(case_ref, str) else None,
        child_ref=state.get("child_ref"),
    )


def _replay(body: bytes, receive_more: Receive) -> Receive:
    """The body read already, then the connection's own messages (its disconnect)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive_more()

    return receive
