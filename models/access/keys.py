"""API keys: created once, stored as a salted hash, bound to one authority, revocable.

A key reads `cin_<key id>_<secret>`: the key id (8 random bytes, hex) finds the row; the secret is
256 random bits (`secrets.token_urlsafe(32)`). Only SHA-256(salt || secret) is stored, compared in
constant time (`hmac.compare_digest`).

Why SHA-256 and not argon2 or scrypt: a slow hash protects secrets a person chose, which an
attacker holding the table can guess. Nobody can guess 2**256 random secrets, slowly or fast, so
a deliberately slow hash adds no protection here and would cost every request (argon2's usual
parameters take tens of milliseconds: more than the API's whole budget for an event). The salt
makes two equal secrets (which never happen) hash differently all the same. This is the choice
GitHub and Stripe make for their tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import Engine, bindparam
from sqlmodel import Session, col, select

from models.fields import FieldRefused, FieldRule, check_team
from models.tables import ApiClient, Authority, utcnow

Scope = Literal["record", "read"]
SCOPES: tuple[Scope, ...] = ("record", "read")
KEY_PATTERN = re.compile(r"cin_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
CLIENT_NAME = FieldRule(
    "name", 64, re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._ -]*[A-Za-z0-9])?"), "letters, digits, . _ -"
)


@dataclass(frozen=True)
class Client:
    """The authenticated caller of one request."""

    key_id: str
    authority: str
    name: str
    scope: Scope

    @property
    def label(self) -> str:
        return f"{self.name} ({self.key_id})"


def _digest(salt: str, secret: str) -> str:
    return hashlib.sha256(bytes.fromhex(salt) + secret.encode("ascii")).hexdigest()


def create_key(engine: Engine, *, authority: str, name: str, scope: str) -> tuple[Client, str]:
    """A new key for `name` at `authority`; the key itself is returned once and never stored."""
    CLIENT_NAME.check(name)
    if scope not in SCOPES:
        raise FieldRefused(f"scope: expected one of {', '.join(SCOPES)}; got {scope!r}")
    check_team(authority, field="authority")
    key_id, secret, salt = secrets.token_hex(8), secrets.token_urlsafe(32), secrets.token_hex(16)
    with Session(engine) as session:
        if session.get(Authority, authority) is None:
            raise FieldRefused(f"authority: expected one with a policy file; got {authority!r}")
        session.add(
            ApiClient(
                key_id=key_id,
                authority=authority,
                name=name,
                scope=scope,
                salt=salt,
                secret_hash=_digest(salt, secret),
            )
        )
        session.commit()
    client = Client(key_id, authority, name, "record" if scope == "record" else "read")
    return client, f"cin_{key_id}_{secret}"


def authenticate(session: Session, key: str) -> Client | None:
    """The client `key` belongs to, if it is well formed, known and not revoked; else None.

    Read from the database on every request, so a revocation holds from the next request on."""
    found = KEY_PATTERN.fullmatch(key)
    if found is None:
        return None
    key_id, secret = found.groups()
    row = session.exec(select(ApiClient).where(ApiClient.key_id == key_id)).first()
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.secret_hash, _digest(row.salt, secret)):
        return None
    return Client(row.key_id, row.authority, row.name, row.scope)  # type: ignore[arg-type]


_CLIENTS = ApiClient.__table__  # type: ignore[attr-defined]
# built once (each API request runs it): a statement built per call is coerced and keyed anew
ACTIVE_KEY = select(_CLIENTS.c.key_id).where(
    _CLIENTS.c.key_id == bindparam("key_id"), _CLIENTS.c.revoked_at.is_(None)
)


def key_active(session: Session, key_id: str) -> bool:
    """Whether `key_id` is known and not revoked, read in the caller's transaction: the HTTP API
    asks on every request, whatever key it verified earlier (a revocation holds from the next
    request)."""
    # through the connection (Core): no ORM compile or autoflush for one indexed row
    return session.connection().execute(ACTIVE_KEY, {"key_id": key_id}).first() is not None


def list_keys(engine: Engine, *, authority: str | None = None) -> list[ApiClient]:
    with Session(engine) as session:
        query = select(ApiClient).order_by(col(ApiClient.authority), col(ApiClient.created_at))
        if authority is not None:
            query = query.where(ApiClient.authority == authority)
        return list(session.exec(query))


def revoke_key(engine: Engine, *, key_id: str) -> bool:
    """Revoke the key whose id is `key_id`; False if it was revoked already."""
    if not re.fullmatch(r"[0-9a-f]{16}", key_id):
        raise FieldRefused(
            f"key id: expected 16 hexadecimal digits (`cin api key list`); got {key_id!r}"
        )
    with Session(engine) as session:
        row = session.exec(
            select(ApiClient).where(ApiClient.key_id == key_id).with_for_update()
        ).first()
        if row is None:
            raise FieldRefused(f"key id: expected one `cin api key list` shows; got {key_id!r}")
        if row.revoked_at is not None:
            return False
        row.revoked_at = utcnow()
        session.add(row)
        session.commit()
        return True
