"""The Idempotency-Key of a write: required, well formed, and claimed in the request's own
transaction by one insert-if-absent (`INSERT ... ON CONFLICT DO NOTHING`).

Claimed first, before the store's work: a concurrent twin (two recording systems sending the same
event with the same key) waits on the key's row until the first request commits or rolls back,
then finds the row and answers as a repeat, or runs the work itself if the first was refused (its
row went with its rollback). A key seen before is read once, to compare its body and route.

The same statement confirms the API key: the row is inserted only while the key's row says it is
active, so a write reads the key's row in its transaction without a statement of its own
(api/transaction.py)."""

from __future__ import annotations

import hashlib
import json

from fastapi import Request
from pydantic import BaseModel
from sqlalchemy import bindparam, exists, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from api.errors import ApiError
from api.transaction import KEY_CONFIRMED, confirm_key
from models.access.keys import Client
from models.fields import KEY
from models.tables import ApiClient, ApiIdempotency, utcnow

TABLE = ApiIdempotency.__table__  # type: ignore[attr-defined]
CLIENTS = ApiClient.__table__  # type: ignore[attr-defined]
COLUMNS = ("authority", "key", "route", "body_sha256", "created_at")
# the key's row, inserted only while the API key is active: the claim confirms the key too
CLAIMED_ROW = select(*(bindparam(name, type_=TABLE.c[name].type) for name in COLUMNS)).where(
    exists().where(CLIENTS.c.key_id == bindparam("key_id"), CLIENTS.c.revoked_at.is_(None))
)
# built once a process (each write runs them), by dialect: PostgreSQL's, else SQLite's
CLAIM = {
    on_postgresql: (postgresql.insert if on_postgresql else sqlite.insert)(TABLE)
    .from_select(COLUMNS, CLAIMED_ROW)
    .on_conflict_do_nothing()
    .returning(TABLE.c.key)
    for on_postgresql in (True, False)
}
FIRST = select(TABLE.c.route, TABLE.c.body_sha256).where(
    TABLE.c.authority == bindparam("authority"), TABLE.c.key == bindparam("key")
)


def checked_key(value: str | None) -> str:
    if value is None:
        raise ApiError(400, "malformed", "Idempotency-Key: expected a header", "Idempotency-Key")
    if len(value) > KEY.max_length or not KEY.pattern.fullmatch(value):
        raise ApiError(
            422,
            "refused",
            f"Idempotency-Key: expected 1 to {KEY.max_length} characters ({KEY.charset})",
            "Idempotency-Key",
        )
    return value


def digest(body: BaseModel) -> str:
    return hashlib.sha256(
        json.dumps(body.model_dump(mode="json"), sort_keys=True).encode()
    ).hexdigest()


def claim(
    request: Request, session: Session, client: Client, key: str, route: str, body: BaseModel
) -> bool:
    """Claim `key` for this request, and confirm the API key in the same statement; True if
    `key` was claimed before by the same request (a repeat: answer as the first did). Another
    body or route under it is refused (409); a revoked API key, 401."""
    sha = digest(body)
    values = {
        "authority": client.authority,
        "key": key,
        "route": route,
        "body_sha256": sha,
        "created_at": utcnow(),
    }
    connection = session.connection()
    claim_row = CLAIM[connection.dialect.name == "postgresql"]
    if connection.execute(claim_row, {**values, "key_id": client.key_id}).first() is not None:
        session.info[KEY_CONFIRMED] = True
        return False
    # claimed before, or the API key was revoked: the key first (401), then the claim's row
    confirm_key(request, session, client)
    first = connection.execute(FIRST, values).one()
    if first.body_sha256 != sha or first.route != route:
        raise ApiError(
            409,
            "conflict",
            f"Idempotency-Key: {key!r} was used before with another request; expected the "
            "same request, or a new key",
            "Idempotency-Key",
        )
    return True
