"""Security headers for every response, from one middleware (no route sets its own).

- ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: same-origin`` on every answer,
  JSON, problem documents, images, scripts and pages alike;
- a ``Content-Security-Policy`` on every HTML page: pages load scripts only from this
  origin, never inline; they may not be framed (``frame-ancestors 'none'``, and
  ``X-Frame-Options: DENY`` for browsers that predate it) and post forms only here.

``PAGE_CSP`` is the policy of the service's own pages (the landing page, the scan and
lot pages, error pages): styles are inline in their templates, images are this origin's
or ``data:``. ``DOCS_CSP`` is the policy of ``/docs`` and ``/redoc``, which run the
shipped Swagger UI and ReDoc bundles: both set element styles at run time (so
``style-src 'unsafe-inline'``), ReDoc runs its search index in a ``blob:`` worker, and
both fetch ``/openapi.json`` from this origin. Neither allows any script but this
origin's files.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
#: Paths whose pages run the API documentation bundles.
DOCS_PATHS = frozenset({"/docs", "/redoc"})

_ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)


def policy_for(path: str) -> str:
    """The Content-Security-Policy an HTML answer at ``path`` gets."""
    return DOCS_CSP if path in DOCS_PATHS else PAGE_CSP


class SecurityHeaders:
    """ASGI middleware adding the headers above to every HTTP response start."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _ALWAYS:
                    headers[name.decode()] = value.decode()
                if headers.get("content-type", "").startswith("text/html"):
                    headers["Content-Security-Policy"] = policy_for(path)
                    headers["X-Frame-Options"] = "DENY"
            await send(message)

        await self.app(scope, receive, with_headers)
