"""The Idempotency-Key of a write: required, well formed, and claimed in the request's own
transaction by one insert-if-absent (`INSERT ... ON CONFLICT DO NOTHING`).

Claimed first, before the store's work: a concurrent twin (two recording systems sending the same
event with the same key) waits on the key's row until the first request commits or rolls back,
then finds the row and answers as a repeat, or runs the work itself if the first was refused (its
row went with its rollback). A key seen before is read once, to compare its body and route."""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel
from sqlalchemy import bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from api.errors import ApiError
from models.access.keys import Client
from models.fields import KEY
from models.tables import ApiIdempotency, utcnow

TABLE = ApiIdempotency.__table__  # type: ignore[attr-defined]
# built once a process (each write runs them), by dialect: PostgreSQL's, else SQLite's
CLAIM = {
    on_postgresql: (postgresql.insert if on_postgresql else sqlite.insert)(TABLE)
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


def claim(session: Session, client: Client, key: str, route: str, body: BaseModel) -> bool:
    """Claim `key` for this request; True if it was claimed before by the same request (a
    repeat: answer as the first did). Another body or route under it is refused (409)."""
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
    if connection.execute(claim_row, values).first() is not None:
        return False
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
