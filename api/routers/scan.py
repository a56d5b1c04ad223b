"""The scan pages for staff: sign in with an API key, scan a label (phone camera through the
BarcodeDetector API, or a scanner gun / typing into the text field), see the lot, and
receive, ship, count, sell or dispose of it at one of the organisation's locations.

Signing in exchanges the key for a server-side session (``ledger.masterdata.sessions``): the cookie
holds a random session token, never the key (``HttpOnly``, ``SameSite=Lax``, ``Secure``
over https). The session lives in the database, so it works in every worker and after a
restart, and ends at sign-out, after ``SESSION_SECONDS``, or as soon as its key is
revoked. Every form that acts on a session (record, sign out) carries a CSRF token derived
from the session token and checked here; a POST whose ``Origin`` (or ``Referer``) names
another site is refused too, and the sign-in form, which has no session yet, must name
this host. Scans are parsed on the server with ``labels.digital_link.parse_scan``;
movements are appended with ``Ledger.append`` as the key's organisation, and the receipt
(seq and leaf hash) is shown with the refreshed history. A refused movement re-opens its
form with what was typed and the reason next to the field it is about, in the page's
words, not the API's. Recording needs a supplier, warehouse, store or manager key; any
active key may sign in.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from api.deps import WRITERS, get_ledger
from api.errors import problem_for
from api.limits import read_body
from api.routers.resolver import (
    SESSION_COOKIE,
    LotView,
    history,
    latest_checkpoint,
    lot_view,
    render_page,
    resolver_base,
)
from labels.digital_link import parse_scan
from labels.errors import ScanError
from ledger import IdempotencyConflict, Ledger, LedgerError, NotFound, Receipt
from ledger.ids import new_event_id
from ledger.masterdata import sessions
from ledger.masterdata.directory import list_locations
from ledger.masterdata.keys import KeyInfo
from ledger.masterdata.registry import LocationInfo
from ledger.quantity import format_micro, parse_decimal
from ledger.trace import lots

router = APIRouter(tags=["scan"], include_in_schema=False)

ACTIONS = ("receive", "ship", "count", "sell", "dispose")
DISPOSE_REASONS = ("spoilage", "damage", "expired", "recall", "quality", "other")
SESSION_SECONDS = sessions.SESSION_SECONDS
_SCRIPT = (Path(__file__).resolve().parent.parent / "static" / "scan.js").read_bytes()
#: The form fields a movement form sends back after an error (what the person typed).
_KEPT = (
    "action",
    "event_id",
    "location",
    "from_location",
    "to_location",
    "quantity",
    "counted",
    "reason",
    "unsolicited",
)
#: The event's field names as the page calls them, and the form field each is shown at.
_FIELDS = {
    "location": ("At", "location"),
    "from_location": ("From", "from_location"),
    "to_location": ("To", "to_location"),
    "quantity": ("Quantity", "quantity"),
    "variance": ("Counted quantity", "counted"),
    "counted": ("Counted quantity", "counted"),
    "reason": ("Reason", "reason"),
}
# API wording in the ledger's messages, as the page says it.
_WORDING = (
    (re.compile(r'send "unsolicited": true'), 'tick "No shipment was recorded for this"'),
    (re.compile(r"\bfrom_location\b"), "From"),
    (re.compile(r"\bto_location\b"), "To"),
)


class _Refused(Exception):
    """A movement refused before it reaches the ledger, or by it, in the page's words."""

    def __init__(self, status: int, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields or {}


@dataclass(frozen=True, slots=True)
class _Session:
    key: KeyInfo
    token: str

    @property
    def csrf(self) -> str:
        return sessions.csrf_token(self.token)


@dataclass(slots=True)
class _Failed:
    """A refused form: what was typed, and what is wrong (per form field, and overall)."""

    form: dict[str, str]
    fields: dict[str, str] = field(default_factory=dict)


def _same_origin(request: Request) -> bool:
    """The POST names this host in Origin (or, without Origin, in Referer)."""
    source = request.headers.get("origin") or request.headers.get("referer")
    host = request.headers.get("host")
    if not source or source == "null" or not host:
        return False
    return urlsplit(source).netloc.lower() == host.lower()


def _foreign_origin(request: Request) -> bool:
    """The POST names another site in Origin (or Referer); naming none is not foreign."""
    source = request.headers.get("origin") or request.headers.get("referer")
    return source is not None and not _same_origin(request)


async def _form(request: Request) -> dict[str, str]:
    body = (await read_body(request)).decode("utf-8", errors="replace")
    return {name: values[0] for name, values in parse_qs(body, max_num_fields=50).items()}


def _session(request: Request, ledger: Ledger) -> _Session | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    key = sessions.session_key(ledger.engine, token)
    return None if key is None else _Session(key, token)


def _signin(status: int = 200, message: str | None = None) -> Response:
    return render_page("signin.html", status, message=message)


def _forget_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")


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
    session = await run_in_threadpool(_session, request, ledger)
    if session is None:
        return _signin()
    if code is None or not code.strip():
        return _page(ledger, session, None, code="")
    try:
        scanned = parse_scan(code)
    except ScanError as exc:
        return _page(
            ledger, session, None, code=code, status=400, message=f"Not a lot label: {exc}"
        )
    try:
        view = await run_in_threadpool(
            lot_view, ledger, resolver_base(request), scanned.gtin, scanned.lot
        )
    except NotFound:
        return _page(
            ledger,
            session,
            None,
            code=code,
            status=404,
            message=f"Unknown lot: no lot {scanned.lot} of GTIN {scanned.gtin} in this ledger.",
        )
    return await run_in_threadpool(_page, ledger, session, view, code=code)


@router.post("/scan/session")
async def sign_in(request: Request) -> Response:
    """Sign in with an API key: a new server-side session, its random token in the cookie."""
    if not _same_origin(request):
        return _signin(403, "This form must be sent from this site.")
    secret = (await _form(request)).get("key", "").strip()
    started = await run_in_threadpool(sessions.start_session, get_ledger(request).engine, secret)
    if started is None:
        return _signin(401, "That key is not valid or has been revoked.")
    response = RedirectResponse("/scan", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        started.token,
        max_age=SESSION_SECONDS,
        path="/",
        httponly=True,
        # Lax, not Strict: a lot page opened from the phone's camera app is a cross-site
        # navigation and should still show staff their history. Every POST is guarded by
        # the CSRF token, and no GET changes anything.
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/scan/signout")
async def sign_out(request: Request) -> Response:
    """End the session (its row is deleted) and clear the cookie."""
    ledger = get_ledger(request)
    form = await _form(request)
    session = await run_in_threadpool(_session, request, ledger)
    if session is not None:
        if _foreign_origin(request) or not sessions.csrf_matches(
            session.token, form.get("csrf", "")
        ):
            return await run_in_threadpool(
                _page, ledger, session, None, code="", status=403, message=_CSRF_MESSAGE
            )
        await run_in_threadpool(sessions.end_session, ledger.engine, session.token)
    response = RedirectResponse("/scan", status_code=303)
    _forget_cookie(response)
    return response


_CSRF_MESSAGE = (
    "This form did not come from this page (or the page is from an earlier sign-in): "
    "nothing was recorded. Open the lot again and resend it."
)


@router.post("/scan/record")
async def record(request: Request) -> Response:
    """Record a receive, ship, count, sale or disposal from the lot page's forms."""
    ledger = get_ledger(request)
    session = await run_in_threadpool(_session, request, ledger)
    if session is None:
        response = _signin(401, "Your session has ended: sign in again.")
        _forget_cookie(response)
        return response
    form = await _form(request)
    key = session.key
    try:
        view = await run_in_threadpool(
            lot_view, ledger, resolver_base(request), form.get("gtin", ""), form.get("lot", "")
        )
    except NotFound as exc:
        return _page(ledger, session, None, code="", status=404, message=str(exc))
    if _foreign_origin(request) or not sessions.csrf_matches(session.token, form.get("csrf", "")):
        return await run_in_threadpool(
            _page, ledger, session, view, status=403, message=_CSRF_MESSAGE
        )
    try:
        if key.role not in WRITERS:
            raise _Refused(403, f"A {key.role} key may not record movements.")
        event = await run_in_threadpool(_event, ledger, key, view, form)
        if event is None:
            return await run_in_threadpool(
                _page,
                ledger,
                session,
                view,
                message="The count matches the stock: nothing recorded.",
            )
        try:
            result = await run_in_threadpool(ledger.append, [event], actor=key.org_id)
        except LedgerError as exc:
            raise _refusal(exc) from None
    except _Refused as exc:
        return await run_in_threadpool(
            _page,
            ledger,
            session,
            view,
            status=exc.status,
            message=exc.message,
            failed=_Failed({k: form[k] for k in _KEPT if k in form}, exc.fields),
        )
    receipt = result.receipts[0]
    # The status changes with holds: read the lot again for the refreshed page.
    fresh = await run_in_threadpool(
        lot_view, ledger, resolver_base(request), view.info.gtin, view.info.lot
    )
    return await run_in_threadpool(
        _page,
        ledger,
        session,
        fresh,
        status=200 if receipt.duplicate else 201,
        receipt=_receipt(receipt, event, result.tree_size),
    )


def _say(message: str) -> str:
    for pattern, words in _WORDING:
        message = pattern.sub(words, message)
    return message


def _refusal(exc: LedgerError) -> _Refused:
    """The ledger's refusal of a form's event, each problem placed at the field it is
    about (in the page's words); problems about no field of the form go in the summary."""
    if isinstance(exc, IdempotencyConflict):
        return _Refused(
            409,
            f"Not recorded: this form was already recorded (entry {exc.seq}) with other "
            "values. Open the lot again to record another movement.",
        )
    response = problem_for(exc)
    body = json.loads(bytes(response.body))
    fields: dict[str, str] = {}
    general: list[str] = []
    for problem in body.get("errors") or [{"field": "", "message": body["detail"]}]:
        name = _FIELDS.get(str(problem.get("field", "")), ("", ""))[1]
        text = _say(str(problem["message"]))
        if name:
            fields.setdefault(name, text[:1].upper() + text[1:])
        else:
            general.append(text)
    if fields and not general:
        labels = sorted({_FIELDS[f][0] for f in _FIELDS if _FIELDS[f][1] in fields})
        summary = f"Not recorded: check {', '.join(labels)} below."
    else:
        summary = "Not recorded: " + " ".join(general)
    return _Refused(response.status_code, summary, fields)


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
    if not text:
        raise _Refused(422, "Not recorded: enter the quantity.", {name: "Enter the quantity."})
    try:
        micro = parse_decimal(text)
    except ValueError:
        message = (
            "Enter a positive quantity."
            if text.startswith("-")
            else f"{text!r} is not a quantity: type a number such as 12 or 12.5 (a point "
            "for decimals, at most 6 digits after it)."
        )
        raise _Refused(422, f"Not recorded: {message}", {name: message}) from None
    if micro == 0 and name == "quantity":
        raise _Refused(
            422,
            "Not recorded: the quantity must be more than zero.",
            {name: "Must be more than zero."},
        )
    return format_micro(micro)


def _event(
    ledger: Ledger, key: KeyInfo, view: LotView, form: dict[str, str]
) -> dict[str, Any] | None:
    """The event a form asks for; None for a count that matches the stock."""
    action = form.get("action", "")
    if action not in ACTIONS:
        raise _Refused(422, f"Not recorded: this page has no {action or 'such'} action.")
    location = form.get("location", "")
    own = {loc.id for loc in list_locations(ledger.engine, key.org_id)}
    if location not in own:
        message = f"{location or 'No location'} is not one of {key.org_id}'s locations."
        raise _Refused(403, f"Not recorded: {message}", {"location": message})
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
        event["from_location"] = _other_location(form, "from_location", "From")
        if form.get("unsolicited"):
            event["unsolicited"] = True
    elif action == "ship":
        event["quantity"] = _quantity(form)
        event["to_location"] = _other_location(form, "to_location", "To")
    elif action == "sell":
        event["quantity"] = _quantity(form)
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


def _other_location(form: dict[str, str], name: str, label: str) -> str:
    value = form.get(name, "").strip()
    if not value:
        message = f"Choose where it {'came from' if name == 'from_location' else 'goes'}."
        raise _Refused(422, f"Not recorded: {label}: {message}", {name: message})
    return value


def _stock(ledger: Ledger, key: KeyInfo, info: lots.LotInfo) -> list[lots.StockLine]:
    try:
        return lots.lot_stock(ledger.engine, info.gtin, info.lot, viewer=key.org_id)
    except NotFound:
        return []


def _page(
    ledger: Ledger,
    session: _Session,
    view: LotView | None,
    *,
    code: str | None = None,
    status: int = 200,
    message: str | None = None,
    receipt: dict[str, Any] | None = None,
    failed: _Failed | None = None,
) -> Response:
    key = session.key
    context: dict[str, Any] = {
        "key": key,
        "csrf": session.csrf,
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
        "failed": failed.form if failed else {},
        "field_errors": failed.fields if failed else {},
    }
    if view is not None:
        rows = history(ledger, key, view.info.gtin, view.info.lot)
        own: list[LocationInfo] = list_locations(ledger.engine, key.org_id)
        own_ids = {loc.id for loc in own}
        context.update(
            history=rows,
            stock=_stock(ledger, key, view.info),
            own=own,
            # Receive "From" and Ship "To" offer the organisation's own locations (a store
            # receives from its DC, a DC ships to its stores) and everyone else's.
            others=[loc for loc in list_locations(ledger.engine) if loc.id not in own_ids],
            # The latest shipment to one of our locations: what a receipt most likely matches.
            pending=next((r for r in rows if r["type"] == "ship" and r["to"] in own_ids), None),
            checkpoint=latest_checkpoint(ledger),
        )
    return render_page("scan.html", status, **context)
