"""Who is calling: the key in `Authorization: Bearer cin_...`, bound to one authority and one
scope. A key is verified against its row once a process (`VerifiedKeys`); whether it is still
active is read again on every request, in the request's own transaction (`api/transaction.py`),
so a revocation holds from the next request whatever this process remembers."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from threading import Lock
from typing import Annotated

import anyio.to_thread
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlmodel import Session

from api.errors import ApiError
from api.guard import WRITES
from models.access.keys import Client, authenticate, key_active

bearer = HTTPBearer(auto_error=False, description="an API key from `cin api key create`")
UNKNOWN = "Authorization: the key is unknown or revoked"


class VerifiedKeys:
    """Keys this process has verified, by the SHA-256 of the key as presented (never the key
    itself); at most `size`, the least recently used forgotten first. Only verified keys are
    kept, so an unknown key cannot fill it. Never trusted for revocation (see the module)."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._clients: OrderedDict[str, Client] = OrderedDict()
        self._lock = Lock()

    @staticmethod
    def _digest(presented: str) -> str:
        return hashlib.sha256(presented.encode("utf-8", "replace")).hexdigest()

    def get(self, presented: str) -> Client | None:
        digest = self._digest(presented)
        with self._lock:
            client = self._clients.get(digest)
            if client is not None:
                self._clients.move_to_end(digest)
            return client

    def put(self, presented: str, client: Client) -> None:
        with self._lock:
            self._clients[self._digest(presented)] = client
            while len(self._clients) > self.size:
                self._clients.popitem(last=False)

    def forget(self, key_id: str) -> None:
        with self._lock:
            for digest in [d for d, c in self._clients.items() if c.key_id == key_id]:
                del self._clients[digest]


def _verify(engine: Engine, presented: str) -> Client | None:
    with Session(engine) as session:
        return authenticate(session, presented)


async def reader(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Client:
    """Any valid key: a record key may read what it records."""
    if credentials is None:
        raise ApiError(
            401, "unauthenticated", "Authorization: expected 'Bearer <key>'", "Authorization"
        )
    verified: VerifiedKeys = request.app.state.verified_keys
    presented = credentials.credentials
    client = verified.get(presented)
    if client is None:  # the first request with this key here: its hash is compared once
        engine = request.app.state.engine
        client = await anyio.to_thread.run_sync(_verify, engine, presented)
        if client is None:
            raise ApiError(401, "unauthenticated", UNKNOWN, "Authorization")
        verified.put(presented, client)
    request.state.client = client
    return client


async def recorder(client: Annotated[Client, Depends(reader)]) -> Client:
    if client.scope != "record":
        raise ApiError(403, "forbidden", "Authorization: expected a key with scope record")
    return client


async def caller_refusal(request: Request) -> ApiError | None:
    """The refusal a request's caller earns before its body is judged, if any: no key, or an
    unknown or revoked one (401), a read key on a write (403). Asked when the body is refused
    (400, 422), which FastAPI may decide before the route's dependencies run, or after they
    passed on a key this process verified earlier but never trusts for revocation: the answer
    is then the same whatever this process remembers (authentication, permission, then the
    body; docs/http-api.md, Errors). One read of the key's row, on this path only."""
    client: Client | None = getattr(request.state, "client", None)
    if client is None:
        try:
            client = await reader(request, await bearer(request))
        except ApiError as refusal:
            return refusal
    engine = request.app.state.engine
    if not await anyio.to_thread.run_sync(_active, engine, client.key_id):
        verified: VerifiedKeys = request.app.state.verified_keys
        verified.forget(client.key_id)
        return ApiError(401, "unauthenticated", UNKNOWN, "Authorization")
    if request.method in WRITES and client.scope != "record":
        return ApiError(403, "forbidden", "Authorization: expected a key with scope record")
    return None


def _active(engine: Engine, key_id: str) -> bool:
    with Session(engine) as session:
        return key_active(session, key_id)
