"""Request limits: the body size every request is held to, and how a body is read under it.

``MAX_BODY_BYTES`` (8 MiB) bounds every request body. A ``Content-Length`` over
it is answered 413 before the body is read; a chunked body is counted as it
arrives and refused as soon as it passes the limit, so nothing unbounded is
ever buffered. ``MAX_BATCH`` (10,000 events, the ledger's own limit) bounds a
batch; a longer one is answered 413 too.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ApiError, problem
from ledger.log import MAX_BATCH

MAX_BODY_BYTES = 8 * 1024 * 1024
__all__ = [
    "MAX_BATCH",
    "MAX_BODY_BYTES",
    "BodyLimit",
    "body_too_large",
    "nul_character",
    "read_body",
]


def body_too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        "request-too-large",
        f"the request body is larger than the limit of {limit} bytes; split the batch",
        limit_bytes=limit,
    )


def nul_character(where: str) -> ApiError:
    # Text columns (PostgreSQL's in particular) cannot hold U+0000; no identifier or name
    # needs it, so it is refused at the door.
    return ApiError(
        422,
        "validation-error",
        f"{where} contains a NUL (U+0000) character, which no field accepts",
        errors=[{"index": 0, "field": "request", "message": "NUL character"}],
    )


class BodyLimit:
    """ASGI middleware: refuse bodies over ``limit`` bytes (413) and NUL in the URL (422)."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or b"%00" in scope.get("query_string", b""):
            err = nul_character("the URL")
            response = problem(422, err.slug, err.detail, instance=None, **err.extra)
            await response(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > self.limit:
                    err = body_too_large(self.limit)
                    response = problem(
                        413, err.slug, err.detail, instance=scope["path"], **err.extra
                    )
                    await response(scope, receive, send)
                    return
                break
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise body_too_large(self.limit)
            return message

        await self.app(scope, counted, send)


async def read_body(request: Request) -> bytes:
    """The whole body (the middleware has already bounded its size)."""
    chunks = [chunk async for chunk in request.stream()]
    return b"".join(chunks)
