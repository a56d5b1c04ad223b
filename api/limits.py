"""Request limits: the body size every request is held to, and how a body is read under it.

``MAX_BODY_BYTES`` (8 MiB) bounds every request body. A ``Content-Length`` over
it is answered 413 before the body is read; a chunked body is counted as it
arrives and refused as soon as it passes the limit, so nothing unbounded is
ever buffered. ``MAX_BATCH`` (10,000 events, the ledger's own limit) bounds a
batch; a longer one is answered 413 too.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ApiError, invalid, problem
from ledger.log.service import MAX_BATCH

MAX_BODY_BYTES = 8 * 1024 * 1024
__all__ = [
    "MAX_BATCH",
    "MAX_BODY_BYTES",
    "BodyLimit",
    "body_too_large",
    "nul_character",
    "read_body",
    "single_valued_query",
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


# -- JSON bodies: the media type and the encoding -----------------------------------------

#: Paths under ``/v1/`` whose routes read a body that is not JSON (a route that does must
#: be listed here, with the media types it reads checked by the route itself).
NON_JSON_PREFIXES: tuple[str, ...] = ()
#: The paths whose bodies must be JSON: the API, and EPCIS capture (JSON or JSON-LD).
JSON_PREFIXES = ("/v1/", "/epcis/")
#: Methods whose bodies, under ``/v1/``, must be JSON.
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Byte-order marks of encodings other than UTF-8 (and UTF-8's own, which RFC 8259 forbids
#: sending).
_BOMS = (
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\xfe\xff", "UTF-16"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xef\xbb\xbf", "UTF-8 with a byte-order mark"),
)


def is_json_media_type(content_type: str) -> tuple[bool, str | None]:
    """Whether a Content-Type names JSON (``application/json`` or ``application/*+json``),
    and the charset it declares, if any."""
    media, *params = (p.strip() for p in content_type.split(";"))
    media = media.lower()
    charset = None
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"').lower()
    is_json = media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )
    return is_json, charset


def unsupported_media_type(detail: str) -> ApiError:
    return ApiError(
        415,
        "unsupported-media-type",
        detail,
        headers={"Accept-Post": "application/json", "Accept-Patch": "application/json"},
    )


def _sniff_encoding(first: bytes) -> str | None:
    """The non-UTF-8 encoding a JSON body's first bytes give away, or None. JSON starts
    with an ASCII character, so UTF-16 and UTF-32 put a NUL among the first four bytes."""
    for bom, name in _BOMS:
        if first.startswith(bom):
            return name
    if b"\x00" in first[:4]:
        return "UTF-16 or UTF-32"
    return None


class JsonBodies:
    """ASGI middleware: a body sent to ``/v1/`` must be JSON in UTF-8, else 415.

    ``Content-Type`` must be ``application/json`` (or an ``application/*+json`` type such
    as ``application/ld+json``), with no charset or ``charset=utf-8``; a form, text, or a
    UTF-16 body is refused before any route reads it, so nothing guesses at what was
    meant. Requests without a body (``Content-Length: 0``, no ``Transfer-Encoding``) pass.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in _BODY_METHODS
            or not scope["path"].startswith(JSON_PREFIXES)
            or scope["path"].startswith(NON_JSON_PREFIXES)
        ):
            await self.app(scope, receive, send)
            return
        content_type = None
        has_body = False
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value.decode("latin-1")
            elif name == b"content-length":
                has_body = has_body or value.strip() not in (b"0", b"")
            elif name == b"transfer-encoding":
                has_body = True
        if not has_body:
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(content_type)
        if refusal is None:
            # The first chunk tells a UTF-16 or UTF-32 body (and a byte-order mark).
            first = await receive()
            encoding = (
                _sniff_encoding(first.get("body", b"")) if first["type"] == "http.request" else None
            )
            if encoding is not None:
                refusal = unsupported_media_type(
                    f"the body is encoded as {encoding}; send JSON encoded as UTF-8, "
                    "without a byte-order mark"
                )
            else:
                replayed = False

                async def replay() -> Message:
                    nonlocal replayed
                    if not replayed:
                        replayed = True
                        return first
                    return await receive()

                await self.app(scope, replay, send)
                return
        response = problem(
            refusal.status,
            refusal.slug,
            refusal.detail,
            instance=scope["path"],
            headers=refusal.headers,
        )
        await response(scope, receive, send)

    @staticmethod
    def _refusal(content_type: str | None) -> ApiError | None:
        if content_type is None:
            return unsupported_media_type(
                "the request has a body but no Content-Type; send JSON with "
                "'Content-Type: application/json'"
            )
        is_json, charset = is_json_media_type(content_type)
        if not is_json:
            return unsupported_media_type(
                f"the body is {content_type.split(';')[0].strip() or 'untyped'!s}; this "
                "endpoint reads JSON: send it with 'Content-Type: application/json'"
            )
        if charset not in (None, "utf-8", "utf8"):
            return unsupported_media_type(
                f"the body is declared as charset={charset}; JSON must be UTF-8 "
                "('Content-Type: application/json' or '...; charset=utf-8')"
            )
        return None


# -- query strings: one value per parameter, unless it is a list --------------------------


def _array_params(app: Any) -> dict[tuple[str, str], frozenset[str]]:
    """(path, METHOD) -> the query parameters the OpenAPI document declares as arrays."""
    table: dict[tuple[str, str], frozenset[str]] | None = getattr(app.state, "query_arrays", None)
    if table is None:
        table = {}
        for path, item in app.openapi().get("paths", {}).items():
            for method, op in item.items():
                if not isinstance(op, dict):
                    continue
                table[(path, method.upper())] = frozenset(
                    p["name"]
                    for p in op.get("parameters", [])
                    if p.get("in") == "query" and _is_array(p.get("schema", {}))
                )
        app.state.query_arrays = table
    return table


def _is_array(schema: dict[str, Any]) -> bool:
    if schema.get("type") == "array":
        return True
    return any(_is_array(s) for s in schema.get("anyOf", []))


async def single_valued_query(request: Request) -> None:
    """A dependency of every route: a query parameter given more than once is refused with
    422 naming it, unless the operation takes a list there (``?lot=...&lot=...``). The
    framework would otherwise keep the last value silently."""
    params = request.query_params
    items = params.multi_items()
    if len(items) == len(params):
        return
    route = request.scope.get("route")
    arrays = _array_params(request.app).get(
        (getattr(route, "path", ""), request.method), frozenset()
    )
    for name, count in Counter(k for k, _ in items).items():
        if count > 1 and name not in arrays:
            raise invalid(name, f"given {count} times; this parameter takes one value")
