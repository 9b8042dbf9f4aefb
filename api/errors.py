"""Every refusal as a JSON body naming the field and what was expected; never a stack trace.

`ErrorBody` is the one error shape in the OpenAPI description. Messages come from the domain's
own refusals (models/fields.py, models/lifecycle), which never quote a child's details; a
validation error of a request body names the field and pydantic's expectation, never the input.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from models.cases.reads import UnknownCase
from models.cases.store import KeyReused
from models.fields import FieldRefused
from models.lifecycle import EventRefused

log = logging.getLogger("cin.api")

MAX_MESSAGE = 400


class ErrorBody(BaseModel):
    error: str  # a word for the kind of refusal: refused, conflict, not_found, ...
    field: str | None = None  # the field (or header) at fault, when one is
    message: str  # one line: the field and what was expected


class ApiError(Exception):
    def __init__(self, status: int, error: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.error, self.message, self.field = status, error, message, field


_FIELD = re.compile(r"^(?:[a-z_]+ refused: )?([A-Za-z_][A-Za-z0-9_.-]*): ")


def field_of(message: str) -> str | None:
    """The field a domain refusal names first ("outcome: expected ...")."""
    found = _FIELD.match(message)
    return found.group(1) if found else None


def error_response(
    status: int, error: str, message: str, field: str | None = None, **headers: str
) -> JSONResponse:
    line = " ".join(str(message).split())[:MAX_MESSAGE]
    body = ErrorBody(error=error, field=field, message=line).model_dump()
    return JSONResponse(body, status_code=status, headers=headers or None)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (400, "a malformed request: JSON that does not parse, a missing Idempotency-Key"),
        (401, "no key, or a key that is unknown or revoked"),
        (403, "a read key on a write"),
        (404, "no such case for this key's authority"),
        (409, "refused by the case's lifecycle, or an Idempotency-Key reused with another body"),
        (413, "the body is larger than the limit"),
        (415, "the body is not application/json"),
        (422, "a field breaks its rule: the field and what was expected"),
        (429, "more requests than this client's limit per second (Retry-After says when)"),
        (503, "the case database cannot be reached"),
    )
}


def _validation_message(errors: list[Any]) -> tuple[str | None, str]:
    """The first problem's field and a line for it; pydantic's message, never the input."""
    from models.lifecycle import EVENT_TYPES

    first = errors[0] if errors else {}
    # ("body", "event", "referral_decision", "outcome") -> "event.outcome": the union's tag is
    # not a field the sender wrote
    loc = [str(p) for p in first.get("loc", ()) if p != "body" and p not in EVENT_TYPES]
    field = ".".join(loc) or None
    error = first.get("ctx", {}).get("error")
    text = str(error) if isinstance(error, ValueError) else str(first.get("msg", "invalid"))
    more = len(errors) - 1
    suffix = f" (and {more} more problem{'s' * (more != 1)})" if more > 0 else ""
    return field, f"{field or 'body'}: {text}{suffix}"


def install(app: FastAPI, caller_refusal: Callable[[Request], Awaitable[ApiError | None]]) -> None:
    """The error shapes on `app`; `caller_refusal` (api.auth's) judges who is asking before a
    body or parameter refused by validation is answered."""

    @app.exception_handler(ApiError)
    async def _api_error(_r: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.error, exc.message, exc.field)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        refusal = await caller_refusal(request)
        if refusal is not None:  # who is asking is judged before what they sent
            return error_response(refusal.status, refusal.error, refusal.message, refusal.field)
        errors = list(exc.errors())
        if errors and errors[0].get("type") == "json_invalid":
            return error_response(400, "malformed", "body: expected a JSON object", "body")
        field, message = _validation_message(errors)
        return error_response(422, "refused", message, field)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_r: Request, exc: StarletteHTTPException) -> JSONResponse:
        words = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "refused")
        return error_response(exc.status_code, words, str(exc.detail))

    @app.exception_handler(KeyReused)
    async def _reused(_r: Request, exc: KeyReused) -> JSONResponse:
        return error_response(409, "conflict", str(exc), "Idempotency-Key")

    @app.exception_handler(EventRefused)
    async def _refused(_r: Request, exc: EventRefused) -> JSONResponse:
        return error_response(409, "refused", str(exc), field_of(str(exc)))

    @app.exception_handler(FieldRefused)
    async def _field(_r: Request, exc: FieldRefused) -> JSONResponse:
        return error_response(422, "refused", str(exc), field_of(str(exc)))

    @app.exception_handler(UnknownCase)
    async def _unknown(_r: Request, _exc: UnknownCase) -> JSONResponse:
        return error_response(404, "not_found", "case: no such case for this key's authority")

    @app.exception_handler(Exception)
    async def _fault(_r: Request, exc: Exception) -> JSONResponse:
        from sqlalchemy.exc import InterfaceError, OperationalError

        if isinstance(exc, OperationalError | InterfaceError):
            log.warning("case database unavailable (%s)", type(exc).__name__)
            return error_response(503, "unavailable", "the case database cannot be reached")
        # the type only: a message or traceback may quote a row (a child's reference)
        log.error("internal error (%s)", type(exc).__name__)
        return error_response(500, "internal", f"internal error ({type(exc).__name__})")
