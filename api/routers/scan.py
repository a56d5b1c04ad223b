"""The scan pages for staff: sign in with an API key, scan a label (phone camera through the
BarcodeDetector API, or a scanner gun / typing into the text field), see the lot, and
receive, ship, count or dispose of it at one of the organisation's locations.

The session is the API key itself in an ``HttpOnly``, ``SameSite=Strict`` cookie (``Secure``
over https), checked against the ledger on every request, so revoking the key ends the
session. Every POST must come from this origin (``Origin``, else ``Referer``, must name this
host): with SameSite=Strict that is the CSRF defence. Scans are parsed on the server with
``labels.digital_link.parse_scan``; movements are appended with ``Ledger.append`` as the
key's organisation, and the receipt (seq and leaf hash) is shown with the refreshed history.
Recording needs a supplier, warehouse, store or manager key; any active key may sign in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from api.deps import WRITERS, get_ledger, key_from_request
from api.errors import ApiError
from api.limits import read_body
from api.routers.resolver import (
    SESSION_COOKIE,
    LotView,
    error_detail,
    history,
    latest_checkpoint,
    lot_view,
    render_page,
    resolver_base,
    session_key,
)
from labels.digital_link import parse_scan
from labels.errors import ScanError
from ledger import lots
from ledger.directory import list_locations
from ledger.errors import LedgerError, NotFound
from ledger.ids import new_event_id
from ledger.keys import KeyInfo
from ledger.log import Ledger, Receipt
from ledger.quantity import format_micro, parse_decimal

router = APIRouter(tags=["scan"], include_in_schema=False)

ACTIONS = ("receive", "ship", "count", "dispose")
DISPOSE_REASONS = ("spoilage", "damage", "expired", "recall", "quality", "other")
SESSION_SECONDS = 12 * 3600
_SCRIPT = (Path(__file__).resolve().parent.parent / "static" / "scan.js").read_bytes()


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _same_origin(request: Request) -> bool:
    """The POST names this host in Origin (or, without Origin, in Referer)."""
    source = request.headers.get("origin") or request.headers.get("referer")
    host = request.headers.get("host")
    if not source or source == "null" or not host:
        return False
    return urlsplit(source).netloc.lower() == host.lower()


async def _form(request: Request) -> dict[str, str]:
    body = (await read_body(request)).decode("utf-8", errors="replace")
    return {name: values[0] for name, values in parse_qs(body, max_num_fields=50).items()}


def _signin(status: int = 200, message: str | None = None) -> Response:
    return render_page("signin.html", status, message=message)


@router.get("/scan.js")
def scan_script() -> Response:
    return Response(
        _SCRIPT,
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/scan")
async def scan_page(request: Request, code: str | None = None) -> Response:
    """The scanner; with ``?code=`` (a scanned label) the lot and what can be done with it."""
    ledger = get_ledger(request)
    key = await run_in_threadpool(session_key, request, ledger)
    if key is None:
        return _signin()
    if code is None or not code.strip():
        return _page(ledger, key, None, code="")
    try:
        scanned = parse_scan(code)
    except ScanError as exc:
        return _page(ledger, key, None, code=code, status=400, message=f"Not a lot label: {exc}")
    try:
        view = await run_in_threadpool(
            lot_view, ledger, resolver_base(request), scanned.gtin, scanned.lot
        )
    except NotFound:
        return _page(
            ledger,
            key,
            None,
            code=code,
            status=404,
            message=f"Unknown lot: no lot {scanned.lot} of GTIN {scanned.gtin} in this ledger.",
        )
    return await run_in_threadpool(_page, ledger, key, view, code=code)


@router.post("/scan/session")
async def sign_in(request: Request) -> Response:
    """Sign in with an API key: the key is kept in an HttpOnly, SameSite=Strict cookie."""
    if not _same_origin(request):
        return _signin(403, "This form must be sent from this site.")
    secret = (await _form(request)).get("key", "").strip()
    try:
        await run_in_threadpool(key_from_request, get_ledger(request), None, secret)
    except ApiError:
        return _signin(401, "That key is not valid or has been revoked.")
    response = RedirectResponse("/scan", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=SESSION_SECONDS,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/scan/signout")
async def sign_out(request: Request) -> Response:
    if not _same_origin(request):
        return _signin(403, "This form must be sent from this site.")
    response = RedirectResponse("/scan", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.post("/scan/record")
async def record(request: Request) -> Response:
    """Record a receive, ship, count or dispose from the lot page's forms."""
    ledger = get_ledger(request)
    key = await run_in_threadpool(session_key, request, ledger)
    if key is None:
        return _signin(401, "Your session has ended: sign in again.")
    form = await _form(request)
    if not _same_origin(request):
        return _signin(403, "This form must be sent from this site.")
    try:
        view = await run_in_threadpool(
            lot_view, ledger, resolver_base(request), form.get("gtin", ""), form.get("lot", "")
        )
    except NotFound as exc:
        return _page(ledger, key, None, code="", status=404, message=str(exc))
    try:
        if key.role not in WRITERS:
            raise _Refused(403, f"A {key.role} key may not record movements.")
        event = await run_in_threadpool(_event, ledger, key, view, form)
        if event is None:
            return await run_in_threadpool(
                _page, ledger, key, view, message="The count matches the stock: nothing recorded."
            )
        result = await run_in_threadpool(ledger.append, [event], actor=key.org_id)
    except _Refused as exc:
        return await run_in_threadpool(
            _page, ledger, key, view, status=exc.status, message=exc.message
        )
    except LedgerError as exc:
        status, detail = error_detail(exc)
        return await run_in_threadpool(_page, ledger, key, view, status=status, message=detail)
    receipt = result.receipts[0]
    # The status changes with holds: read the lot again for the refreshed page.
    fresh = await run_in_threadpool(
        lot_view, ledger, resolver_base(request), view.info.gtin, view.info.lot
    )
    return await run_in_threadpool(
        _page,
        ledger,
        key,
        fresh,
        status=200 if receipt.duplicate else 201,
        receipt=_receipt(receipt, event, result.tree_size),
    )


def _receipt(receipt: Receipt, event: dict[str, Any], tree_size: int) -> dict[str, Any]:
    quantity = event.get("quantity") or event.get("variance")
    return {
        "type": event["type"],
        "seq": receipt.seq,
        "leaf_hash": receipt.leaf_hash.hex(),
        "event_id": receipt.event_id,
        "duplicate": receipt.duplicate,
        "tree_size": tree_size,
        "quantity": f"{quantity} {event['unit']}",
        "location": event["location"],
    }


def _quantity(form: dict[str, str], name: str = "quantity") -> str:
    text = form.get(name, "").strip()
    try:
        micro = parse_decimal(text)
    except ValueError as exc:
        raise _Refused(422, f"Quantity: {exc}") from None
    if micro == 0 and name == "quantity":
        raise _Refused(422, "Quantity: must be more than zero.")
    return format_micro(micro)


def _event(
    ledger: Ledger, key: KeyInfo, view: LotView, form: dict[str, str]
) -> dict[str, Any] | None:
    """The event a form asks for; None for a count that matches the stock."""
    action = form.get("action", "")
    if action not in ACTIONS:
        raise _Refused(422, f"Unknown action {action!r}.")
    location = form.get("location", "")
    own = {loc.id for loc in list_locations(ledger.engine, key.org_id)}
    if location not in own:
        raise _Refused(403, f"{location or 'No location'} is not one of {key.org_id}'s locations.")
    info = view.info
    event_id = form.get("event_id") or new_event_id()
    # The form's event id names one event: sent again (a double tap, a reload), it keeps
    # the time it was first recorded at, so the resend is the same event and gets its
    # original receipt, not an idempotency conflict from a clock that moved on.
    stored = ledger.stored_event(event_id) if form.get("event_id") else None
    event: dict[str, Any] = {
        "event_id": event_id,
        "type": action,
        "event_time": stored["event_time"]
        if stored is not None
        else datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "location": location,
        "lot": {"gtin": info.gtin, "lot": info.lot},
        "unit": info.unit,
    }
    if action == "receive":
        event["quantity"] = _quantity(form)
        event["from_location"] = form.get("from_location", "")
        if form.get("unsolicited"):
            event["unsolicited"] = True
    elif action == "ship":
        event["quantity"] = _quantity(form)
        event["to_location"] = form.get("to_location", "")
    elif action == "dispose":
        event["quantity"] = _quantity(form)
        reason = form.get("reason", "other")
        event["reason"] = reason if reason in DISPOSE_REASONS else "other"
    else:
        counted = parse_decimal(_quantity(form, "counted"))
        on_hand = sum(
            parse_decimal(line.on_hand, signed=True)
            for line in _stock(ledger, key, info)
            if line.location_id == location
        )
        if counted == on_hand:
            return None
        event["type"] = "adjust"
        event["variance"] = format_micro(counted - on_hand)
        event["reason"] = "count"
    return event


def _stock(ledger: Ledger, key: KeyInfo, info: lots.LotInfo) -> list[lots.StockLine]:
    try:
        return lots.lot_stock(ledger.engine, info.gtin, info.lot, viewer=key.org_id)
    except NotFound:
        return []


def _page(
    ledger: Ledger,
    key: KeyInfo,
    view: LotView | None,
    *,
    code: str | None = None,
    status: int = 200,
    message: str | None = None,
    receipt: dict[str, Any] | None = None,
) -> Response:
    context: dict[str, Any] = {
        "key": key,
        "view": view,
        "code": code if code is not None else (view.uri if view else ""),
        "message": message,
        "receipt": receipt,
        "writer": key.role in WRITERS,
        "show_reasons": True,
        "history": [],
        "stock": [],
        "own": [],
        "others": [],
        "pending": None,
        "reasons": DISPOSE_REASONS,
        "checkpoint": None,
        "new_id": new_event_id,
    }
    if view is not None:
        rows = history(ledger, key, view.info.gtin, view.info.lot)
        own = list_locations(ledger.engine, key.org_id)
        own_ids = {loc.id for loc in own}
        context.update(
            history=rows,
            stock=_stock(ledger, key, view.info),
            own=own,
            others=[loc for loc in list_locations(ledger.engine) if loc.id not in own_ids],
            # The latest shipment to one of our locations: what a receipt most likely matches.
            pending=next((r for r in rows if r["type"] == "ship" and r["to"] in own_ids), None),
            checkpoint=latest_checkpoint(ledger),
        )
    return render_page("scan.html", status, **context)
