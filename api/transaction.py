"""One transaction per request: the key's row read again (a revocation holds from the next
request, whatever `VerifiedKeys` remembers), the route's work, and the request's access-log row,
committed together: one commit (one WAL flush on PostgreSQL) per accepted event instead of one
each for the key, the Idempotency-Key, the event and the access log.

A request refused inside the transaction (a lifecycle refusal, an unknown case) rolls back, and
the guard writes its access-log row on its own (api/guard.py), as for every refusal before it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from fastapi import Request
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from api.auth import UNKNOWN, VerifiedKeys
from api.errors import ApiError
from api.guard import audit_row
from models.access.audit import AUDIT_INSERT
from models.access.keys import Client, key_active

T = TypeVar("T")


# session.info: the key's row was read active in this transaction (by `confirm_key`, or by the
# Idempotency-Key's claim, which inserts only while the key is active: api/idempotency.py)
KEY_CONFIRMED = "cin_key_confirmed"


@contextmanager
def transaction(
    request: Request, client: Client, status: int, *, write: bool = False
) -> Iterator[Session]:
    """A session whose commit carries the access-log row of a request answered `status`.

    A read confirms the key first. A write leaves it to its Idempotency-Key's claim (one
    statement fewer an event); whatever is refused before the claim, and a write that claimed
    nothing, confirms the key then, so a revoked key is answered 401 whatever it sent."""
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        if not write:
            confirm_key(request, session, client)
        try:
            yield session
        except Exception:
            if not session.info.get(KEY_CONFIRMED):
                session.rollback()  # nothing was written; a failed statement ends the transaction
                confirm_key(request, session, client)
            raise
        if not session.info.get(KEY_CONFIRMED):
            confirm_key(request, session, client)
        session.connection().execute(AUDIT_INSERT, audit_row(request.scope, status))
        session.commit()
        request.state.audited = True


def confirm_key(request: Request, session: Session, client: Client) -> None:
    """The key's row read in `session`'s transaction: 401 if it was revoked (a revocation holds
    from the next request, whatever `VerifiedKeys` remembers)."""
    if not key_active(session, client.key_id):
        verified: VerifiedKeys = request.app.state.verified_keys
        verified.forget(client.key_id)
        raise ApiError(401, "unauthenticated", UNKNOWN, "Authorization")
    session.info[KEY_CONFIRMED] = True


def in_transaction(
    request: Request, client: Client, status: int, work: Callable[[Session], T]
) -> T:
    """`work` in `transaction`, once more if its commit collided with a concurrent twin's
    unique row (the same Idempotency-Key, the same contact): the second pass finds that row and
    answers as a repeat, or refuses the key (409)."""
    try:
        with transaction(request, client, status, write=True) as session:
            return work(session)
    except IntegrityError:
        with transaction(request, client, status, write=True) as session:
            return work(session)
