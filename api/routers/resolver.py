"""The GS1 Digital Link resolver: ``GET /01/{gtin}/10/{lot}`` (any further key qualifiers in
the path, any data attributes in the query) for the lot a label's QR code names.

Content negotiation: a browser gets a mobile-first HTML page (product, lot, expiry, origin,
status with a red banner when held or recalled, the latest signed checkpoint, verified here
against the log key; for signed-in staff also the lot's history as their organisation sees
it and a link to record a movement); ``Accept: application/json`` gets the same as JSON;
``?linkType=all`` or ``Accept: application/linkset+json`` gets an RFC 9264 linkset with
GS1 Web Vocabulary link types; ``?linkType=gs1:<type>`` redirects (307) to that link.
A URI that is not a lot's Digital Link gets 400, an unknown lot 404: an HTML page for a
browser, ``application/problem+json`` for an API client. The resolver is public.

The shared page helpers (templates, the staff session cookie, the lot view) live here too;
the scan pages (``api.routers.scan``) use them.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, RedirectResponse, Response

from api.deps import get_ledger
from api.errors import problem, problem_for
from api.labelling import configured_resolver_base
from api.negotiation import best_match
from labels.digital_link import lot_uri, parse_scan
from labels.errors import ScanError
from ledger import Ledger, LedgerError, NotFound
from ledger.masterdata import sessions
from ledger.masterdata.directory import get_organisation
from ledger.masterdata.keys import KeyInfo
from ledger.masterdata.registry import get_location
from ledger.trace import lots
from verifier.errors import VerificationError
from verifier.note import verify_checkpoint

router = APIRouter(tags=["resolver"])

#: The staff session cookie: a random session token (never the API key), HttpOnly,
#: SameSite=Lax, Secure over https; see api.routers.scan and ledger.masterdata.sessions.
SESSION_COOKIE = "lotledger_session"
LINKSET_MEDIA_TYPE = "application/linkset+json"
GS1_VOC = "https://gs1.org/voc/"
HISTORY_SHOWN = 50

_TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent.parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
# The security headers (CSP, nosniff, Referrer-Policy) come from api.headers.SecurityHeaders
# for the whole app; pages add only that they are not to be cached.
_PAGE_HEADERS = {"Cache-Control": "no-store"}


# --- shared page helpers --------------------------------------------------------------


def render_page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render ``api/templates/<name>`` (everything autoescaped) with the page headers."""
    html = _TEMPLATES.get_template(name).render(**context)
    return HTMLResponse(html, status_code=status, headers=dict(_PAGE_HEADERS))


def resolver_base(request: Request) -> str:
    """The base URL of lots' Digital Link URIs (printed in labels' QR codes, the canonical URI
    of a lot): ``LOTLEDGER_RESOLVER_BASE`` (``https://id.example.com`` or with a path prefix),
    else this request's base URL."""
    return (configured_resolver_base() or str(request.base_url)).rstrip("/")


def session_key(request: Request, ledger: Ledger) -> KeyInfo | None:
    """The active key of the staff session cookie's session, or None (no cookie, an expired
    or ended session, a revoked key...)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    return sessions.session_key(ledger.engine, token)


def viewer(key: KeyInfo) -> str | None:
    """Whose view of a lot a key gets: regulators and the operator's admins see everything."""
    return None if key.role in ("regulator", "admin") else key.org_id


def error_detail(exc: LedgerError) -> tuple[int, str]:
    """(status, detail) of a domain error, as api/errors.py maps it for the API."""
    response = problem_for(exc)
    body = json.loads(bytes(response.body))
    return response.status_code, str(body["detail"])


@dataclass(frozen=True, slots=True)
class Checkpoint:
    origin: str
    tree_size: int
    root_hex: str
    root_b64: str
    verified: bool


@dataclass(frozen=True, slots=True)
class LotView:
    """What a page or the JSON answer says about a lot."""

    info: lots.LotInfo
    uri: str
    origin_name: str
    origin_org: str

    @property
    def banner(self) -> str | None:
        if self.info.status == "recalled":
            return "RECALLED: do not sell, use or eat this lot."
        if self.info.status in ("on_hold", "damaged", "quarantined"):
            what = self.info.status.replace("_", " ").upper()
            return f"{what}: do not sell or move this lot until it is released."
        return None


def lot_view(ledger: Ledger, base: str, gtin: str, lot: str) -> LotView:
    """The public view of a lot: master data, origin and status. NotFound if unknown."""
    info = lots.get_lot(ledger.engine, gtin, lot, viewer=None)
    origin_name, origin_org = info.origin_location, info.org_id
    try:
        origin_name = get_location(ledger.engine, info.origin_location).name
        origin_org = get_organisation(ledger.engine, info.org_id).name
    except NotFound:
        pass
    expiry = None if info.expiry is None else date.fromisoformat(info.expiry)
    return LotView(info, lot_uri(base, info.gtin, info.lot, expiry=expiry), origin_name, origin_org)


def latest_checkpoint(ledger: Ledger) -> Checkpoint:
    """The newest checkpoint, its signature verified against the log's own key."""
    size, root, note = ledger.latest_checkpoint()
    try:
        verify_checkpoint(note, ledger.verifier_key, origin=ledger.origin)
        verified = True
    except VerificationError:
        verified = False
    return Checkpoint(ledger.origin, size, root.hex(), base64.b64encode(root).decode(), verified)


def history(ledger: Ledger, key: KeyInfo, gtin: str, lot: str) -> list[dict[str, Any]]:
    """The newest entries of the lot's history that ``key``'s organisation may see."""
    try:
        found = lots.lot_events(ledger.engine, gtin, lot, viewer=viewer(key))
    except NotFound:
        return []
    rows = []
    for entry in reversed(found[-HISTORY_SHOWN:]):
        event = entry.envelope["event"]
        quantity = event.get("quantity") or event.get("variance") or ""
        rows.append(
            {
                "seq": entry.seq,
                "leaf_hash": entry.leaf_hash.hex(),
                "type": event["type"],
                "time": event.get("event_time", ""),
                "quantity": f"{quantity} {event.get('unit', '')}".strip(),
                "location": event.get("location", ""),
                "from": event.get("from_location", ""),
                "to": event.get("to_location", ""),
                "actor": entry.envelope["actor"],
            }
        )
    return rows


# --- content negotiation -----------------------------------------------------------------

_OFFERED = ("text/html", "application/json", LINKSET_MEDIA_TYPE)


def negotiate(accept: str | None) -> str:
    """The offered media type the Accept header prefers (text/html when it does not say)."""
    return best_match(accept, _OFFERED, default="text/html")


def _wants_html(request: Request) -> bool:
    return negotiate(request.headers.get("accept")) == "text/html"


def resolver_error(request: Request, status: int, slug: str, title: str, detail: str) -> Response:
    """400/404 as a page for a browser, as problem+json for an API client."""
    if _wants_html(request):
        return render_page("error.html", status, title=title, detail=detail, code=status)
    return problem(status, slug, detail, instance=request.url.path)


# --- the resolver ------------------------------------------------------------------------


def _requested_uri(request: Request, base: str) -> str:
    """The Digital Link URI as requested, percent-encoding kept (a lot may hold '/')."""
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1") if raw else quote(request.url.path)
    root = request.scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    query = request.url.query
    return f"{urlsplit(base).scheme}://{urlsplit(base).netloc}{path}" + (
        f"?{query}" if query else ""
    )


def linkset(view: LotView, base: str) -> dict[str, Any]:
    """The lot's links as an RFC 9264 linkset with GS1 Web Vocabulary link types."""
    info = view.info
    api = f"{base}/v1/lots/{info.gtin}/{quote(info.lot, safe='')}"
    title = f"{info.product}, lot {info.lot}"

    def link(href: str, kind: str, what: str) -> list[dict[str, Any]]:
        return [{"href": href, "title": f"{what}: {title}", "type": kind, "hreflang": ["en"]}]

    return {
        "linkset": [
            {
                "anchor": view.uri,
                "itemDescription": title,
                GS1_VOC + "defaultLink": link(view.uri, "text/html", "Lot page"),
                GS1_VOC + "pip": link(view.uri, "text/html", "Product information page"),
                GS1_VOC + "recallStatus": link(
                    view.uri + ("&" if "?" in view.uri else "?") + "linkType=gs1:recallStatus",
                    "application/json",
                    "Status and holds",
                ),
                GS1_VOC + "traceability": link(
                    f"{api}/events", "application/json", "Traceability events (API key)"
                ),
                GS1_VOC + "masterData": link(api, "application/json", "Lot master data (API key)"),
            }
        ]
    }


def lot_json(view: LotView, checkpoint: Checkpoint) -> dict[str, Any]:
    info = view.info
    return {
        "uri": view.uri,
        "gtin": info.gtin,
        "lot": info.lot,
        "product": info.product,
        "unit": info.unit,
        "expiry": info.expiry,
        "origin": {
            "location": info.origin_location,
            "name": view.origin_name,
            "organisation": view.origin_org,
        },
        "status": info.status,
        "holds": [
            {"kind": h.kind, "recall_id": h.recall_id, "since_seq": h.seq} for h in info.holds
        ],
        "registered_seq": info.registered_seq,
        "checkpoint": {
            "origin": checkpoint.origin,
            "tree_size": checkpoint.tree_size,
            "root_hash": checkpoint.root_b64,
            "signature_verified": checkpoint.verified,
        },
    }


def _link_header(view: LotView) -> str:
    all_links = view.uri + ("&" if "?" in view.uri else "?") + "linkType=all"
    return f'<{all_links}>; rel="linkset"; type="{LINKSET_MEDIA_TYPE}"'


@router.get(
    "/01/{path:path}",
    response_class=HTMLResponse,
    responses={
        200: {
            "description": "The lot: an HTML page, JSON, or an RFC 9264 linkset",
            "content": {"application/json": {}, LINKSET_MEDIA_TYPE: {}},
        },
        307: {"description": "`?linkType=gs1:...`: redirect to that link"},
        400: {"description": "Not a lot's GS1 Digital Link URI (page or problem+json)"},
        404: {"description": "No such lot (page or problem+json)"},
    },
)
async def resolve(request: Request, path: str) -> Response:
    """Resolve a lot's GS1 Digital Link URI, `/01/{gtin}/10/{lot}[/...][?17=...&linkType=...]`.
    Public; signed-in staff (the /scan session cookie) also see the lot's history."""
    ledger = get_ledger(request)
    base = resolver_base(request)
    try:
        scanned = parse_scan(_requested_uri(request, base))
    except ScanError as exc:
        return resolver_error(
            request, 400, "invalid-digital-link", "Not a valid lot link", str(exc)
        )
    try:
        view = await run_in_threadpool(lot_view, ledger, base, scanned.gtin, scanned.lot)
    except NotFound:
        return resolver_error(
            request,
            404,
            "not-found",
            "Unknown lot",
            f"No lot {scanned.lot} of GTIN {scanned.gtin} is recorded in this ledger.",
        )
    link_type = request.query_params.get("linkType")
    media = negotiate(request.headers.get("accept"))
    headers = {"Link": _link_header(view), "Vary": "Accept", "Access-Control-Allow-Origin": "*"}
    if link_type == "all" or media == LINKSET_MEDIA_TYPE:
        return Response(
            json.dumps(linkset(view, base), ensure_ascii=False),
            media_type=LINKSET_MEDIA_TYPE,
            headers=headers,
        )
    if link_type and link_type not in ("gs1:defaultLink", "gs1:pip", "gs1:recallStatus"):
        target = linkset(view, base)["linkset"][0].get(GS1_VOC + link_type.removeprefix("gs1:"))
        if target:
            return RedirectResponse(target[0]["href"], status_code=307, headers=headers)
    checkpoint = await run_in_threadpool(latest_checkpoint, ledger)
    if media == "application/json" or link_type == "gs1:recallStatus":
        return Response(
            json.dumps(lot_json(view, checkpoint), ensure_ascii=False),
            media_type="application/json",
            headers=headers,
        )
    key = await run_in_threadpool(session_key, request, ledger)
    rows = (
        await run_in_threadpool(history, ledger, key, view.info.gtin, view.info.lot)
        if key is not None
        else []
    )
    page = render_page(
        "lot.html",
        view=view,
        checkpoint=checkpoint,
        key=key,
        history=rows,
        scan_url="/scan?" + "code=" + quote(view.uri, safe=""),
    )
    page.headers.update(headers)
    return page


# HEAD answers like GET (scanners probe links with it); one OpenAPI operation is enough.
router.add_api_route("/01/{path:path}", resolve, methods=["HEAD"], include_in_schema=False)
