"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), served entirely by the service itself.

The bundles come from the PyPI package ``fastapi-offline`` 1.7.7 (MIT licence), pinned in
pyproject.toml, which ships, unmodified:

- Swagger UI 5.32.6 (``swagger-ui-bundle.js``, ``swagger-ui.css``; Apache-2.0 licence);
- ReDoc 2.5.3 (``redoc.standalone.js``; MIT licence).

Nothing is fetched from a CDN: the pages work on a network with no internet. The pages
start the bundles from files of this origin (``api/static/docs/swagger-init.js``; ReDoc
starts itself from its ``<redoc>`` element), so their Content-Security-Policy
(``api.headers.DOCS_CSP``) admits no inline script.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from starlette.responses import HTMLResponse, Response

from api.errors import ApiError
from api.routers.resolver import render_page

router = APIRouter(include_in_schema=False)

ASSETS = "/docs/assets"
OPENAPI_URL = "/openapi.json"
_BUNDLES = Path(str(files("fastapi_offline") / "static"))
_OWN = Path(__file__).resolve().parent.parent / "static" / "docs"
#: Every file the docs pages load: its name, where it lies and its media type.
_FILES: dict[str, tuple[Path, str]] = {
    "swagger-ui-bundle.js": (_BUNDLES / "swagger-ui-bundle.js", "text/javascript"),
    "swagger-ui.css": (_BUNDLES / "swagger-ui.css", "text/css"),
    "redoc.standalone.js": (_BUNDLES / "redoc.standalone.js", "text/javascript"),
    "favicon.png": (_BUNDLES / "favicon.png", "image/png"),
    "swagger-init.js": (_OWN / "swagger-init.js", "text/javascript"),
}
_CACHE: dict[str, bytes] = {}


def _page(request: Request, template: str) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return render_page(
        template,
        title=request.app.title,
        assets=f"{root}{ASSETS}",
        openapi_url=f"{root}{OPENAPI_URL}",
    )


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    """Interactive API documentation (Swagger UI)."""
    return _page(request, "docs.html")


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    """Reference API documentation (ReDoc)."""
    return _page(request, "redoc.html")


@router.get(ASSETS + "/{name}")
def asset(name: Annotated[str, PathParam(max_length=64)]) -> Response:
    """One of the docs pages' files (cached by browsers for a day)."""
    entry = _FILES.get(name)
    if entry is None:
        raise ApiError(404, "not-found", f"no documentation asset named {name!r}")
    path, media_type = entry
    body = _CACHE.get(name)
    if body is None:
        body = _CACHE[name] = path.read_bytes()
    return Response(body, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"})
