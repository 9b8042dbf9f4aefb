"""Who is calling: the key in `Authorization: Bearer cin_...`, read from the database on every
request (a revocation holds from the next request), bound to one authority and one scope."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from api.errors import ApiError
from models.access.keys import Client, authenticate

bearer = HTTPBearer(auto_error=False, description="an API key from `cin api key create`")


def reader(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Client:
    """Any valid key: a record key may read what it records."""
    if credentials is None:
        raise ApiError(
            401, "unauthenticated", "Authorization: expected 'Bearer <key>'", "Authorization"
        )
    with Session(request.app.state.engine) as session:
        client = authenticate(session, credentials.credentials)
    if client is None:
        raise ApiError(
            401, "unauthenticated", "Authorization: the key is unknown or revoked", "Authorization"
        )
    request.state.client = client
    return client


def recorder(client: Annotated[Client, Depends(reader)]) -> Client:
    if client.scope != "record":
        raise ApiError(403, "forbidden", "Authorization: expected a key with scope record")
    return client
