"""The GS1 Digital Link resolver over HTTP through the app: a page for browsers, JSON for API
clients, an RFC 9264 linkset for ``?linkType=all``, 400 and 404 as pages or problems; and
the scan pages' sign-in, CSRF and recording rules (the browser test drives them for real)."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from html import unescape

import pytest
from sqlalchemy import text

from api.app import create_app
from api.labelling import RESOLVER_BASE_ENV
from api.routers.resolver import SESSION_COOKIE
from ledger import Ledger
from ledger.masterdata import sessions
from ledger.masterdata.keys import list_keys, revoke_key
from tests.api_fixtures import ApiClient, Keys, make_keys
from tests.conftest import LETTUCE, Events

LOT = "L2311/A"  # a "/" in the lot: percent-encoded in the URI, one path segment
LOT_PATH = f"/01/{LETTUCE}/10/L2311%2FA"
BASE = "http://lotledger.test"
HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
JSON = {"Accept": "application/json"}


@pytest.fixture
def env(world: Ledger, ev: Events) -> Iterator[tuple[ApiClient, Keys, Ledger]]:
    keys = make_keys(world)
    world.append(
        [
            ev.register(LOT, "100", expiry="2030-12-31"),
            ev.ship(LOT, "40", frm="farm-field-1", to="store-1"),
        ],
        actor="farm",
    )
    client = ApiClient(create_app(world))
    try:
        yield client, keys, world
    finally:
        client.close()


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def test_page_for_a_browser(env: tuple[ApiClient, Keys, Ledger]) -> None:
    client, _, ledger = env
    r = client.get(LOT_PATH + "?17=301231", headers=HTML)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["vary"] == "Accept"
    assert 'rel="linkset"' in r.headers["link"]
    page = text_of(r.text)
    assert "Romaine lettuce" in page
    assert "Lot L2311/A" in page
    assert "Expiry 2030-12-31" in page
    assert "Origin Farm Field 1 (Green Valley Farm)" in page
    assert 'id="status">approved</span>' in r.text
    assert "RECALLED" not in page
    assert "ON HOLD" not in page
    size, root, _ = ledger.latest_checkpoint()
    assert f"Tree size {size}" in page
    assert root.hex() in page
    assert "signature verified" in page
    # Anonymous visitors do not see the history.
    assert 'id="history"' not in r.text
    assert "sign in" in page


def test_json_for_an_api_client(env: tuple[ApiClient, Keys, Ledger]) -> None:
    client, _, ledger = env
    r = client.get(LOT_PATH + "/21/SER1?17=301231&3103=001500", headers=JSON)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert body["uri"] == f"{BASE}{LOT_PATH}?17=301231"
    assert (body["gtin"], body["lot"], body["product"]) == (LETTUCE, LOT, "Romaine lettuce")
    assert body["expiry"] == "2030-12-31"
    assert body["origin"] == {
        "location": "farm-field-1",
        "name": "Farm Field 1",
        "organisation": "Green Valley Farm",
    }
    assert body["status"] == "approved"
    assert body["holds"] == []
    assert body["checkpoint"]["tree_size"] == ledger.size() == 2
    assert body["checkpoint"]["signature_verified"] is True
    head = client.request("HEAD", LOT_PATH, headers=JSON)
    assert head.status_code == 200
    assert head.headers["content-type"] == "application/json"


def test_resolver_base_setting(
    env: tuple[ApiClient, Keys, Ledger], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, _, _ = env
    monkeypatch.setenv(RESOLVER_BASE_ENV, "https://id.example.com/dl")
    body = client.get(LOT_PATH, headers=JSON).json()
    assert body["uri"] == f"https://id.example.com/dl{LOT_PATH}?17=301231"


def test_held_and_recalled_lots(env: tuple[ApiClient, Keys, Ledger], ev: Events) -> None:
    client, _, ledger = env
    ledger.append([ev.hold(LOT, at="farm-field-1")], actor="farm")
    r = client.get(LOT_PATH, headers=HTML)
    assert 'class="banner bad"' in r.text
    assert "ON HOLD: do not sell" in text_of(r.text)
    assert "listeria" not in r.text  # a hold's reason is for staff only
    assert client.get(LOT_PATH, headers=JSON).json()["status"] == "on_hold"

    quarantine = ev.hold(LOT, at="farm-field-1") | {"kind": "quarantine"}
    ledger.append([quarantine], actor="farm")
    r = client.get(LOT_PATH, headers=HTML)
    assert "QUARANTINED: do not sell or move this lot until it is released." in text_of(r.text)
    assert 'id="status">quarantined</span>' in r.text
    assert client.get(LOT_PATH, headers=JSON).json()["status"] == "quarantined"

    recall = ev.hold(LOT, at="farm-field-1") | {"kind": "recall", "recall_id": "R-7"}
    ledger.append([recall], actor="farm")
    r = client.get(LOT_PATH, headers=HTML)
    assert "RECALLED: do not sell, use or eat this lot." in text_of(r.text)
    body = client.get(LOT_PATH, headers=JSON).json()
    assert body["status"] == "recalled"
    assert [(h["kind"], h["recall_id"]) for h in body["holds"]] == [
        ("quality", None),
        ("quarantine", None),
        ("recall", "R-7"),
    ]
    # The lot's recall status as a link of its own.
    r = client.get(LOT_PATH + "?linkType=gs1:recallStatus", headers=HTML)
    assert r.json()["status"] == "recalled"


def test_linkset(env: tuple[ApiClient, Keys, Ledger]) -> None:
    client, _, _ = env
    r = client.get(LOT_PATH + "?17=301231&linkType=all", headers=HTML)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/linkset+json"
    (links,) = r.json()["linkset"]
    anchor = f"{BASE}{LOT_PATH}?17=301231"
    assert links["anchor"] == anchor
    assert links["itemDescription"] == "Romaine lettuce, lot L2311/A"
    assert links["https://gs1.org/voc/pip"][0]["href"] == anchor
    assert links["https://gs1.org/voc/defaultLink"][0]["type"] == "text/html"
    trace = links["https://gs1.org/voc/traceability"][0]
    assert trace["href"] == f"{BASE}/v1/lots/{LETTUCE}/L2311%2FA/events"
    assert trace["type"] == "application/json"
    for relation, targets in links.items():
        if relation.startswith("https://"):
            assert all({"href", "title", "type", "hreflang"} <= set(t) for t in targets)
    # The same by Accept, and a single link type redirects.
    r = client.get(LOT_PATH, headers={"Accept": "application/linkset+json"})
    assert r.json()["linkset"][0]["anchor"] == anchor
    r = client.get(LOT_PATH + "?linkType=gs1:traceability", headers=JSON)
    assert r.status_code == 307
    assert r.headers["location"] == trace["href"]


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/01/09506000134353/10/L1", "check digit"),
        (f"/01/{LETTUCE}", "no batch/lot"),
        (f"/01/{LETTUCE}/10/", "AI (10)"),
        (f"/01/{LETTUCE}/10/L1?17=301332", "17"),
        ("/01/abc/10/L1", "01"),
    ],
)
def test_invalid_uri_is_400(env: tuple[ApiClient, Keys, Ledger], path: str, reason: str) -> None:
    client, _, _ = env
    r = client.get(path, headers=HTML)
    assert r.status_code == 400
    assert r.headers["content-type"].startswith("text/html")
    assert "Not a valid lot link" in r.text
    assert reason in text_of(r.text)
    r = client.get(path, headers=JSON)
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["type"] == "https://lotledger.dev/problems/invalid-digital-link"
    assert reason in problem["detail"]


def test_unknown_lot_is_404(env: tuple[ApiClient, Keys, Ledger]) -> None:
    client, _, _ = env
    r = client.get(f"/01/{LETTUCE}/10/NOPE", headers=HTML)
    assert r.status_code == 404
    assert "Unknown lot" in r.text
    assert f"No lot NOPE of GTIN {LETTUCE}" in text_of(r.text)
    r = client.get(f"/01/{LETTUCE}/10/NOPE")
    assert r.status_code == 404  # no Accept: a page
    assert r.headers["content-type"].startswith("text/html")
    r = client.get(f"/01/{LETTUCE}/10/NOPE", headers=JSON)
    assert r.status_code == 404
    assert r.json()["type"] == "https://lotledger.dev/problems/not-found"


def test_page_escapes_text(world: Ledger, ev: Events) -> None:
    world.append(
        [ev.register("X<1>") | {"product": "<script>alert(1)</script> & co"}], actor="farm"
    )
    client = ApiClient(create_app(world))
    try:
        r = client.get(f"/01/{LETTUCE}/10/X%3C1%3E", headers=HTML)
    finally:
        client.close()
    assert r.status_code == 200
    assert "<script>alert" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in r.text
    assert "script-src 'self'" in r.headers["content-security-policy"]


# --- the scan pages: sign-in, CSRF and recording (see test_browser.py for the real thing) ---

ORIGIN = {"Origin": BASE}


def sign_in(client: ApiClient, key: str) -> str:
    """Sign in with ``key``; the session token the cookie holds."""
    r = client.post("/scan/session", data={"key": key}, headers=ORIGIN)
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http here; https sets it
    token = cookie.split(";")[0].removeprefix(f"{SESSION_COOKIE}=")
    assert token.startswith("ls_")
    assert key not in cookie
    assert client._client.cookies.get(SESSION_COOKIE) == token  # kept, as a browser would
    return token


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', html)
    assert found is not None, "no CSRF token in the page"
    return found.group(1)


def test_scan_sign_in(env: tuple[ApiClient, Keys, Ledger]) -> None:
    client, keys, ledger = env
    r = client.get("/scan")
    assert 'action="/scan/session"' in r.text
    r = client.post("/scan/session", data={"key": "ll_wrong"}, headers=ORIGIN)
    assert r.status_code == 401
    assert "not valid" in r.text
    r = client.post(
        "/scan/session", data={"key": keys.store}, headers={"Origin": "https://evil.example"}
    )
    assert r.status_code == 403
    r = client.post("/scan/session", data={"key": keys.store})  # neither Origin nor Referer
    assert r.status_code == 403
    token = sign_in(client, keys.store)
    r = client.get("/scan")
    assert "retail · store" in unescape(r.text)
    assert 'id="code"' in r.text
    # The database holds the token's hash only, never the token nor the key.
    with ledger.engine.connect() as conn:
        rows = conn.execute(text("SELECT token_hash, key_id FROM staff_sessions")).all()
    assert [bytes(h) for h, _ in rows] == [hashlib.sha256(token.encode()).digest()]
    # The key itself in the cookie is not a session.
    client._client.cookies.clear()
    client._client.cookies.set(SESSION_COOKIE, keys.store)
    assert 'action="/scan/session"' in client.get("/scan").text


def test_a_session_ends_with_its_key_and_its_time(env: tuple[ApiClient, Keys, Ledger]) -> None:
    client, keys, ledger = env
    token = sign_in(client, keys.dc)
    assert sessions.session_key(ledger.engine, token) is not None
    later = time.time() + sessions.SESSION_SECONDS + 1
    assert sessions.session_key(ledger.engine, token, now=later) is None
    key_id = next(k.id for k in list_keys(ledger.engine, "retail") if k.role == "warehouse")
    revoke_key(ledger.engine, key_id)
    r = client.get("/scan")
    assert 'action="/scan/session"' in r.text  # signed out: the sign-in form
    r = client.post("/scan/record", data={"gtin": LETTUCE, "lot": LOT}, headers=ORIGIN)
    assert r.status_code == 401
    assert "Your session has ended" in r.text


def test_scan_open_and_record(env: tuple[ApiClient, Keys, Ledger]) -> None:
    client, keys, ledger = env
    sign_in(client, keys.store)
    r = client.get("/scan", params={"code": f"(01){LETTUCE}(10){LOT}(17)301231"})
    assert r.status_code == 200
    page = text_of(r.text)
    assert "Romaine lettuce" in page
    assert "Record receipt" in page
    assert "Record sale" in page
    # The pending shipment from the farm to store-1 is preselected.
    assert re.search(r'<option value="farm-field-1" selected>', r.text)
    assert re.search(r'<option value="store-1" selected>', r.text)
    csrf = csrf_of(r.text)
    event_id = re.search(
        r'name="action" value="receive"><input type="hidden" name="event_id" value="([^"]+)"',
        r.text,
    )
    assert event_id is not None
    form = {
        "gtin": LETTUCE,
        "lot": LOT,
        "csrf": csrf,
        "action": "receive",
        "event_id": event_id.group(1),
        "location": "store-1",
        "from_location": "farm-field-1",
        "quantity": "40",
    }
    r = client.post("/scan/record", data=form, headers={"Referer": f"{BASE}/scan"})
    assert r.status_code == 201
    page = text_of(r.text)
    assert "Recorded: receive 40 kg at store-1" in page
    assert "Seq 2" in page
    assert ledger.size() == 3
    assert 'data-seq="2"' in r.text  # in the refreshed history
    # The same form again, a second later (the events' times have a second's resolution),
    # is idempotent: the original receipt.
    started = int(time.time())
    while int(time.time()) == started:
        time.sleep(0.02)
    r = client.post("/scan/record", data=form, headers=ORIGIN)
    assert r.status_code == 200
    assert "Already recorded" in r.text
    assert ledger.size() == 3
    # The same form sent back with another quantity is not a new receipt.
    r = client.post("/scan/record", data=form | {"quantity": "41"}, headers=ORIGIN)
    assert r.status_code == 409
    assert "this form was already recorded (entry 2) with other values" in text_of(r.text)
    assert ledger.size() == 3
    # A count of 38 records an adjustment of -2; a matching count records nothing.
    count = {"gtin": LETTUCE, "lot": LOT, "csrf": csrf, "action": "count", "location": "store-1"}
    r = client.post("/scan/record", data=count | {"counted": "38"}, headers=ORIGIN)
    assert r.status_code == 201
    assert "Recorded: adjust -2 kg at store-1" in text_of(r.text)
    r = client.post("/scan/record", data=count | {"counted": "38"}, headers=ORIGIN)
    assert "nothing recorded" in r.text
    assert ledger.size() == 4
    # A sale of 5 leaves 33 on the shelf.
    sell = count | {"action": "sell", "quantity": "5"}
    r = client.post("/scan/record", data=sell, headers=ORIGIN)
    assert r.status_code == 201
    assert "Recorded: sell 5 kg at store-1" in text_of(r.text)
    assert re.search(r"<dt>store-1</dt><dd>33 kg</dd>", r.text)
    # The lot page now shows the store's history to the signed-in staff member.
    r = client.get(LOT_PATH, headers=HTML)
    assert 'id="history"' in r.text
    assert 'data-seq="2"' in r.text
    assert 'data-seq="3"' in r.text


def test_receive_from_and_ship_to_offer_own_locations(
    env: tuple[ApiClient, Keys, Ledger], ev: Events
) -> None:
    client, keys, ledger = env
    ledger.append([ev.receive(LOT, "40", frm="farm-field-1", at="store-1")], actor="retail")
    sign_in(client, keys.dc)
    r = client.get("/scan", params={"code": f"{BASE}{LOT_PATH}"})
    receive = r.text[r.text.index('id="receive-from"') : r.text.index('id="receive-qty"')]
    ship = r.text[r.text.index('id="ship-to"') : r.text.index('id="ship-qty"')]
    for select in (receive, ship):
        own = select[select.index("Your organisation") : select.index("Other organisations")]
        assert re.findall(r'value="([^"]+)"', own) == ["retail-dc", "store-1", "store-2"]
        others = select[select.index("Other organisations") :]
        assert re.findall(r'value="([^"]+)"', others) == ["farm-field-1", "fresh-plant"]


def test_errors_name_the_field_in_words_and_keep_what_was_typed(
    env: tuple[ApiClient, Keys, Ledger],
) -> None:
    client, keys, ledger = env
    sign_in(client, keys.store)
    csrf = csrf_of(client.get("/scan", params={"code": f"{BASE}{LOT_PATH}"}).text)
    form = {
        "gtin": LETTUCE,
        "lot": LOT,
        "csrf": csrf,
        "action": "receive",
        "event_id": "0190f0a0-0000-7000-8000-000000000001",
        "location": "store-2",  # the shipment went to store-1
        "from_location": "farm-field-1",
        "quantity": "12.5",
    }
    r = client.post("/scan/record", data=form, headers=ORIGIN)
    assert r.status_code == 409
    html = r.text
    # The receive form is open again with what was typed and chosen.
    assert re.search(r'<details class="action" open>\s*<summary class="receive"', html)
    assert 'id="receive-qty" name="quantity" inputmode="decimal" required value="12.5"' in html
    assert 'value="0190f0a0-0000-7000-8000-000000000001"' in html
    at = html[
        html.index('id="receive-at"') : html.index("</select>", html.index('id="receive-at"'))
    ]
    assert '<option value="store-2" selected>' in at
    page = text_of(html)
    assert "Not recorded: no open shipment of lot" in page
    assert 'tick "No shipment was recorded for this"' in page
    assert "unsolicited" not in page.replace("No shipment was recorded", "")
    assert ledger.size() == 2
    # A quantity that is not a number: the reason sits under the quantity field.
    r = client.post(
        "/scan/record", data=form | {"location": "store-1", "quantity": "12,5"}, headers=ORIGIN
    )
    assert r.status_code == 422
    error = re.search(
        r'<p class="field-error" role="alert" id="receive-quantity-error">([^<]+)', r.text
    )
    assert error is not None
    assert "type a number such as 12 or 12.5" in unescape(error.group(1))
    assert 'value="12,5" aria-invalid="true"' in r.text
    # Shipping more than is on hand: the reason is at the quantity, in plain words.
    ship = form | {"action": "ship", "location": "store-1", "to_location": "store-2"}
    r = client.post("/scan/record", data=ship | {"quantity": "3"}, headers=ORIGIN)
    assert r.status_code == 409
    error = re.search(r'id="ship-quantity-error">([^<]+)', r.text)
    assert error is not None
    assert "Cannot ship 3 kg of lot" in unescape(error.group(1))
    assert "0 on hand" in unescape(error.group(1))
    assert "Not recorded: check Quantity below." in text_of(r.text)
    # Shipping to the location it is at: the reason is at To, without the API's field name.
    r = client.post("/scan/record", data=ship | {"to_location": "store-1"}, headers=ORIGIN)
    error = re.search(r'id="ship-to_location-error">([^<]+)', r.text)
    assert error is not None
    assert unescape(error.group(1)) == "A shipment must go to another location"
    assert "to_location" not in text_of(r.text)
    assert ledger.size() == 2


def test_scan_refusals(env: tuple[ApiClient, Keys, Ledger], ev: Events) -> None:
    client, keys, ledger = env
    sign_in(client, keys.store)
    r = client.get("/scan", params={"code": "hello"})
    assert r.status_code == 400
    assert "Not a lot label" in r.text
    r = client.get("/scan", params={"code": f"(01){LETTUCE}(10)NOPE"})
    assert r.status_code == 404
    csrf = csrf_of(r.text)
    form = {
        "gtin": LETTUCE,
        "lot": LOT,
        "csrf": csrf,
        "action": "dispose",
        "quantity": "1",
        "reason": "damage",
    }
    # Another organisation's location.
    r = client.post("/scan/record", data=form | {"location": "farm-field-1"}, headers=ORIGIN)
    assert r.status_code == 403
    # More than the store holds.
    r = client.post("/scan/record", data=form | {"location": "store-1"}, headers=ORIGIN)
    assert r.status_code == 409
    assert "Cannot dispose 1 kg" in text_of(r.text)
    r = client.post(
        "/scan/record", data=form | {"location": "store-1", "quantity": "x"}, headers=ORIGIN
    )
    assert r.status_code == 422
    # Cross-site POSTs, and POSTs without the page's CSRF token, are refused before
    # anything is recorded, even for a movement the ledger would accept.
    receive = form | {
        "action": "receive",
        "location": "store-1",
        "from_location": "farm-field-1",
        "quantity": "1",
    }
    r = client.post("/scan/record", data=receive, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    for bad in ({"csrf": "0" * 64}, {"csrf": ""}, {"csrf": "é"}):
        r = client.post("/scan/record", data=receive | bad, headers=ORIGIN)
        assert r.status_code == 403
        assert "did not come from this page" in r.text
    r = client.post("/scan/record", data={k: v for k, v in receive.items() if k != "csrf"})
    assert r.status_code == 403
    # Another session's token does not fit this session.
    other = ApiClient(create_app(ledger))
    try:
        sign_in(other, keys.store)
        stolen = csrf_of(other.get("/scan", params={"code": f"{BASE}{LOT_PATH}"}).text)
    finally:
        other.close()
    assert stolen != csrf
    r = client.post("/scan/record", data=receive | {"csrf": stolen}, headers=ORIGIN)
    assert r.status_code == 403
    assert ledger.size() == 2
    # A regulator may look but not record.
    token = sign_in(client, keys.regulator)
    r = client.get("/scan", params={"code": f"{BASE}{LOT_PATH}"})
    assert "may not record" not in r.text
    assert "can look lots up but not record" in r.text
    form["csrf"] = csrf_of(r.text)
    r = client.post("/scan/record", data=form | {"location": "store-1"}, headers=ORIGIN)
    assert r.status_code == 403
    # Signing out needs the page's token; then it ends the session and clears the cookie.
    r = client.post("/scan/signout", data={"csrf": "nope"}, headers=ORIGIN)
    assert r.status_code == 403
    assert sessions.session_key(ledger.engine, token) is not None
    r = client.post("/scan/signout", data={"csrf": form["csrf"]}, headers=ORIGIN)
    assert r.status_code == 303
    assert f'{SESSION_COOKIE}=""' in r.headers["set-cookie"]
    assert sessions.session_key(ledger.engine, token) is None
