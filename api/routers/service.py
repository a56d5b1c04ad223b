"""The service's front door and its health: ``GET /``, ``/healthz`` and ``/readyz``.

``GET /`` answers a browser (an ``Accept`` that prefers ``text/html``) with a landing page
linking the scan page, the API documentation, health and the public log, and any other
client with a JSON index of the same links. ``/healthz`` says the process is alive (it
touches nothing); ``/readyz`` runs ``ledger.log.health.readiness`` and answers 503 with a
problem document naming each check that failed.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from api.deps import get_ledger
from api.errors import problem
from api.negotiation import best_match
from api.routers import problems
from api.routers.resolver import render_page
from api.schemas import HealthOut, IndexOut, ReadyOut
from ledger.log.health import readiness

router = APIRouter(tags=["service"])

#: The links of the index, in the order the landing page shows them: (rel, href, title).
LINKS: tuple[tuple[str, str, str], ...] = (
    ("scan", "/scan", "Scan a lot's label (staff sign in with their key)"),
    ("docs", "/docs", "API documentation (Swagger UI, try requests)"),
    ("redoc", "/redoc", "API reference (ReDoc)"),
    ("openapi", "/openapi.json", "OpenAPI 3.1 document"),
    ("health", "/healthz", "Liveness: the process answers"),
    ("ready", "/readyz", "Readiness: database, migrations, signing key"),
    ("checkpoint", "/v1/log/checkpoint", "The log's latest signed checkpoint"),
    ("log_key", "/v1/log/key", "The log's verifier key"),
    ("log_entries", "/v1/log/entries", "The log's entries (regulator and admin keys)"),
)


def prefers_html(accept: str | None) -> bool:
    """True when ``Accept`` ranks HTML above JSON (a browser); clients get JSON by default."""
    return best_match(accept, ("application/json", "text/html"), "application/json") == (
        "text/html"
    )


@router.get(
    "/",
    response_model=IndexOut,
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}},
)
async def index(request: Request) -> Response:
    """The service's front door: a landing page for browsers, a JSON index of links for
    clients (by `Accept`; `Vary: Accept`)."""
    ledger = get_ledger(request)
    size = await run_in_threadpool(ledger.size)
    links = [{"rel": rel, "href": href, "title": title} for rel, href, title in LINKS]
    vary = {"Vary": "Accept"}
    if prefers_html(request.headers.get("accept")):
        page = render_page(
            "landing.html",
            title=request.app.title,
            version=request.app.version,
            origin=ledger.origin,
            tree_size=size,
            links=links,
        )
        page.headers.update(vary)
        return page
    body: dict[str, Any] = {
        "name": request.app.title,
        "version": request.app.version,
        "origin": ledger.origin,
        "tree_size": size,
        "links": links,
    }
    return JSONResponse(body, headers=vary)


@router.get("/healthz", response_model=HealthOut)
def healthz() -> dict[str, str]:
    """Liveness: the process answers. Touches neither the database nor the key."""
    return {"status": "ok"}


@router.get("/readyz", response_model=ReadyOut, responses=problems(503))
async def readyz(request: Request) -> Response:
    """Readiness: the database answers, its schema is at this version's migrations, and
    the signing key is loaded and signs. 503 with a problem naming each failed check."""
    checks = await run_in_threadpool(readiness, get_ledger(request))
    listed = [c.as_dict() for c in checks]
    failed = [c for c in checks if not c.ok]
    if failed:
        detail = "not ready: " + "; ".join(f"{c.name}: {c.detail}" for c in failed)
        return problem(
            503,
            "not-ready",
            detail,
            instance=request.url.path,
            headers={"Retry-After": "5", "Cache-Control": "no-store"},
            checks=listed,
        )
    return JSONResponse(
        {"status": "ready", "checks": listed}, headers={"Cache-Control": "no-store"}
    )
