"""Every error the API answers with, as an RFC 9457 ``application/problem+json`` document.

Domain errors (``ledger.errors``) become HTTP here and nowhere else:

=========================  ======  ===================================================
error                      status  ``type`` (under https://lotledger.dev/problems/)
=========================  ======  ===================================================
EventValidationError       422     validation-error (``errors``: index, field, message)
RequestValidationError     422     validation-error (FastAPI's parameter and body checks)
InsufficientStock          409     insufficient-stock
LotOnHold                  409     lot-on-hold
StaleCount                 409     stale-count
TotalOverLimit             409     total-over-limit
RecallConflict             409     recall-conflict (403 forbidden: not the caller's)
ForbiddenLocation          403     forbidden-location
ForbiddenLot               403     forbidden-lot
BatchRejected              the first refused event's status and type; ``errors``: every
                           refused event's index, field, message and type
RuleViolation              409     rule-violation
IdempotencyConflict        409     idempotency-conflict
NotFound                   404     not-found
NotYours                   403     forbidden (another organisation's master data)
ValueError (ledger args)   422     validation-error
InvalidRange               400     invalid-range
malformed JSON             400     malformed-json (with ``line`` and ``column``)
body not JSON or not UTF-8 415     unsupported-media-type
missing/bad/revoked key    401     unauthorized
role or organisation       403     forbidden
body over the limit        413     request-too-large
batch over the limit       413     batch-too-large
=========================  ======  ===================================================
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import Match

from ledger import (
    EventValidationError,
    IdempotencyConflict,
    InvalidRange,
    LedgerError,
    NotFound,
    RuleViolation,
)
from ledger.errors import (
    BatchRejected,
    ForbiddenLocation,
    ForbiddenLot,
    InsufficientStock,
    LotOnHold,
    NotYours,
    StaleCount,
    TotalOverLimit,
)
from ledger.quantity import string_expected_message
from ledger.trace.recall import RecallConflict

PROBLEM_BASE = "https://lotledger.dev/problems/"
PROBLEM_MEDIA_TYPE = "application/problem+json"
_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class ApiError(Exception):
    """An error raised by the web layer itself (authentication, limits, malformed bodies)."""

    def __init__(
        self,
        status: int,
        slug: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.detail = detail
        self.headers = headers
        self.extra = extra


def unauthorized(detail: str) -> ApiError:
    return ApiError(401, "unauthorized", detail, headers={"WWW-Authenticate": "Bearer"})


def invalid(field: str, message: str, *, index: int = 0) -> ApiError:
    """422 validation-error for one field the request framework could not check itself."""
    return ApiError(
        422,
        "validation-error",
        f"{field}: {message}",
        errors=[{"index": index, "field": field, "message": message}],
    )


def forbidden(detail: str) -> ApiError:
    return ApiError(403, "forbidden", detail)


def problem(
    status: int,
    slug: str,
    detail: str,
    *,
    instance: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + slug,
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if instance is not None:
        body["instance"] = instance
    body.update(extra)
    return Response(
        json.dumps(body, ensure_ascii=False, default=str).encode(),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def problem_for(exc: LedgerError, instance: str | None = None) -> Response:
    """The problem document for a domain error."""
    if isinstance(exc, EventValidationError):
        errors = [p.as_dict() for p in exc.problems]
        return problem(422, "validation-error", str(exc), instance=instance, errors=errors)
    if isinstance(exc, IdempotencyConflict):
        return problem(
            409,
            "idempotency-conflict",
            str(exc),
            instance=instance,
            errors=[{"index": exc.index, "field": "event_id", "message": str(exc)}],
            event_id=exc.event_id,
            seq=exc.seq,
        )
    if isinstance(exc, RecallConflict):
        slug, status = ("forbidden", 403) if exc.forbidden else ("recall-conflict", 409)
        errors = [exc.problem().as_dict()]
        return problem(status, slug, exc.message, instance=instance, errors=errors)
    if isinstance(exc, BatchRejected):
        # Every refused event, each with its own type; the answer takes the first one's.
        errors = []
        for error in exc.errors:
            status, slug = _status_slug(error)
            problems = (
                error.problems if isinstance(error, EventValidationError) else [error.problem()]
            )
            errors += [{**p.as_dict(), "type": PROBLEM_BASE + slug} for p in problems]
        status, slug = _status_slug(exc.errors[0])
        return problem(status, slug, str(exc), instance=instance, errors=errors)
    if isinstance(exc, RuleViolation):
        errors = [exc.problem().as_dict()]
        status, slug = _status_slug(exc)
        if exc.details:
            return problem(
                status, slug, str(exc), instance=instance, errors=errors, details=exc.details
            )
        return problem(status, slug, str(exc), instance=instance, errors=errors)
    if isinstance(exc, NotFound):
        return problem(404, "not-found", str(exc), instance=instance)
    if isinstance(exc, NotYours):
        return problem(403, "forbidden", str(exc), instance=instance)
    if isinstance(exc, InvalidRange):
        return problem(400, "invalid-range", str(exc), instance=instance)
    return problem(409, "ledger-error", str(exc), instance=instance)


def _status_slug(exc: RuleViolation | EventValidationError) -> tuple[int, str]:
    """The status and problem type of one refused event's error."""
    if isinstance(exc, EventValidationError):
        return 422, "validation-error"
    if isinstance(exc, InsufficientStock):
        return 409, "insufficient-stock"
    if isinstance(exc, LotOnHold):
        return 409, "lot-on-hold"
    if isinstance(exc, StaleCount):
        return 409, "stale-count"
    if isinstance(exc, TotalOverLimit):
        return 409, "total-over-limit"
    # Authorization failures for this caller, not conflicts with the ledger's state.
    if isinstance(exc, ForbiddenLocation):
        return 403, "forbidden-location"
    if isinstance(exc, ForbiddenLot):
        return 403, "forbidden-lot"
    return 409, "rule-violation"


async def _ledger_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LedgerError)
    return problem_for(exc, request.url.path)


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return problem(
        exc.status,
        exc.slug,
        exc.detail,
        instance=request.url.path,
        headers=exc.headers,
        **exc.extra,
    )


def malformed_json(message: str, doc: str, pos: int) -> ApiError:
    """400 malformed-json saying what the parser found, and at which line and column."""
    line = doc.count("\n", 0, pos) + 1
    column = pos - doc.rfind("\n", 0, pos)
    return ApiError(
        400,
        "malformed-json",
        f"the request body is not valid JSON: {message} at line {line}, column {column}",
        line=line,
        column=column,
    )


def not_utf8(exc: UnicodeDecodeError) -> ApiError:
    return ApiError(
        400,
        "malformed-json",
        f"the request body is not valid UTF-8: byte {exc.object[exc.start]:#04x} at offset "
        f"{exc.start}; JSON must be encoded as UTF-8",
        offset=exc.start,
    )


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:] or parts
    return ".".join(parts) or "request"


def _message(error: Any) -> str:
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    if error.get("type") == "string_type" and error.get("loc"):
        better = string_expected_message(str(error["loc"][-1]), error.get("input"))
        return better or message
    return message


async def _request_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "index": e["loc"][2] if len(e["loc"]) > 2 and isinstance(e["loc"][2], int) else 0,
            "field": _field(tuple(e["loc"])),
            "message": _message(e),
        }
        for e in exc.errors()
    ]
    for e in exc.errors():
        if e.get("type") == "json_invalid":
            err = malformed_json(
                str((e.get("ctx") or {}).get("error", "invalid")),
                exc.body if isinstance(exc.body, str) else "",
                e["loc"][1] if len(e["loc"]) > 1 and isinstance(e["loc"][1], int) else 0,
            )
            return problem(err.status, err.slug, err.detail, instance=request.url.path, **err.extra)
    first = errors[0] if errors else {"field": "request", "message": "invalid"}
    return problem(
        422,
        "validation-error",
        f"{first['field']}: {first['message']}",
        instance=request.url.path,
        errors=errors,
    )


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers at this request's path (with HEAD for GET, and
    OPTIONS), in a stable order. Starlette's own 405 names only the first route's."""
    # Asked method by method: routes may be nested routers, which answer only "matches".
    routes = request.app.router.routes
    methods = {
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    }
    if not methods:
        return []
    methods.add("OPTIONS")
    return [m for m in (*_METHODS, "OPTIONS") if m in methods]


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        allowed = allowed_methods(request)
        allow = {"Allow": ", ".join(allowed)}
        if request.method == "OPTIONS" and allowed:
            return Response(status_code=204, headers=allow)
        return problem(
            405,
            "method-not-allowed",
            f"{request.method} is not allowed here; allowed: {allow['Allow']}",
            instance=request.url.path,
            headers=allow,
        )
    if exc.status_code == 400 and isinstance(exc.__cause__, UnicodeDecodeError):
        err = not_utf8(exc.__cause__)
        return problem(400, err.slug, err.detail, instance=request.url.path, **err.extra)
    slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
    detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
    return problem(exc.status_code, slug, detail, instance=request.url.path, headers=exc.headers)


async def _value_error(request: Request, exc: Exception) -> Response:
    """A ledger function's argument check (the routes' schemas catch most bad input first)."""
    return problem(
        422,
        "validation-error",
        str(exc),
        instance=request.url.path,
        errors=[{"index": 0, "field": "request", "message": str(exc)}],
    )


async def _unexpected(request: Request, exc: Exception) -> Response:
    return problem(500, "internal-error", "an unexpected error occurred", instance=request.url.path)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem document."""
    app.add_exception_handler(LedgerError, _ledger_error)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(ValueError, _value_error)
    app.add_exception_handler(Exception, _unexpected)
