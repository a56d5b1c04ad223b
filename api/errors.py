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
RecallConflict             409     recall-conflict (403 forbidden: not the caller's)
ForbiddenLocation          403     forbidden-location
ForbiddenLot               403     forbidden-lot
BatchRejected              the first refused event's status and type; ``errors``: every
                           refused event's index, field, message and type
RuleViolation              409     rule-violation
IdempotencyConflict        409     idempotency-conflict
NotFound                   404     not-found
ValueError (ledger args)   422     validation-error
InvalidRange               400     invalid-range
malformed JSON             400     malformed-json
missing/bad/revoked key    401     unauthorized
role or organisation       403     forbidden
body over the limit        413     request-too-large
batch over the limit       413     batch-too-large
=========================  ======  ===================================================
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from ledger.errors import (
    BatchRejected,
    EventValidationError,
    ForbiddenLocation,
    ForbiddenLot,
    IdempotencyConflict,
    InsufficientStock,
    InvalidRange,
    LedgerError,
    LotOnHold,
    NotFound,
    RuleViolation,
    StaleCount,
)
from ledger.recall import RecallConflict

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
    422: "Unprocessable Content",
    500: "Internal Server Error",
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
    headers: dict[str, str] | None = None,
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
        extra = {"details": exc.details} if exc.details else {}
        status, slug = _status_slug(exc)
        return problem(status, slug, str(exc), instance=instance, errors=errors, **extra)
    if isinstance(exc, NotFound):
        return problem(404, "not-found", str(exc), instance=instance)
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


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:] or parts
    return ".".join(parts) or "request"


async def _request_validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "index": e["loc"][2] if len(e["loc"]) > 2 and isinstance(e["loc"][2], int) else 0,
            "field": _field(tuple(e["loc"])),
            "message": str(e.get("msg", "invalid")).removeprefix("Value error, "),
        }
        for e in exc.errors()
    ]
    if any(e.get("type") == "json_invalid" for e in exc.errors()):
        return problem(
            400,
            "malformed-json",
            "the request body is not valid JSON",
            instance=request.url.path,
        )
    first = errors[0] if errors else {"field": "request", "message": "invalid"}
    return problem(
        422,
        "validation-error",
        f"{first['field']}: {first['message']}",
        instance=request.url.path,
        errors=errors,
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
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
