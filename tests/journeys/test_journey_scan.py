"""The supplier-to-shelf journey against a real ``lotledger serve`` (two workers) on a fresh
data directory, over HTTP, nothing mocked:

- the operator runs ``lotledger init``, then sets up a farm and a retailer (a DC and a
  store, each with a GLN) and their keys through the API;
- the farm registers and ships lots naming its locations by GLN, with its API key, and
  prints the lot's label;
- the DC decodes the label's QR code (zxing-cpp), signs in on /scan and receives the
  delivery, then ships to its own store, driving the pages as a browser does: GET the
  form, POST it back with its hidden fields (CSRF token included);
- the store receives by scan, tries to sell more than it holds (refused at the quantity,
  which is kept), and sells;
- the stock the manager sees through the API and the staff on the scan page is what was
  moved; the service is restarted and the store's session still works; the store's key
  is revoked and the session stops working at once.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import subprocess
import sys
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
import zxingcpp
from PIL import Image

from labels import parse_scan
from ledger import Settings
from tests.api_fixtures import serve
from tests.conftest import LETTUCE

ROOT = Path(__file__).resolve().parents[2]
FARM_GLN = "9506000134376"
DC_GLN = "4012345000016"
STORE_GLN = "4012345000023"
LOT = "L2311A"


class Forms(HTMLParser):
    """The forms of a page as a browser would submit them: each form's fields with their
    current values (a select's selected option, else its first enabled one; a checkbox
    only when checked)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, dict[str, Any]] = {}
        self._form: dict[str, Any] | None = None
        self._select: str | None = None
        self._first: str | None = None
        self._chosen: str | None = None
        self._options_of = ""
        self.options: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = {"action": a.get("action", ""), "fields": {}}
            self.forms[a.get("id") or a.get("action", "")] = self._form
        elif self._form is None:
            return
        elif tag == "input" and "name" in a:
            if a.get("type") == "checkbox" and "checked" not in a:
                return
            self._form["fields"][a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select, self._first, self._chosen = a.get("name"), None, None
            if a.get("id"):
                self.options[a["id"]] = []
                self._options_of = a["id"]
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            self.options[self._options_of].append(value)
            if self._first is None and "disabled" not in a:
                self._first = value
            if "selected" in a:
                self._chosen = value

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._form is not None and self._select is not None:
            chosen = self._chosen if self._chosen is not None else self._first
            self._form["fields"][self._select] = chosen or ""
            self._select = None
        elif tag == "form":
            self._form = None


def forms_of(html: str) -> Forms:
    parser = Forms()
    parser.feed(html)
    return parser


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


class Staff:
    """A phone's browser: a cookie jar, and forms sent back the way a browser sends them."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=30, follow_redirects=False)

    def rebase(self, base: str) -> None:
        self.http.base_url = httpx.URL(base)

    def origin(self) -> dict[str, str]:
        return {"Origin": str(self.http.base_url).rstrip("/")}

    def sign_in(self, key: str) -> str:
        page = self.http.get("/scan")
        assert page.status_code == 200
        form = forms_of(page.text).forms["/scan/session"]
        assert set(form["fields"]) == {"key"}
        r = self.http.post("/scan/session", data={"key": key}, headers=self.origin())
        assert r.status_code == 303, r.text
        return r.headers["set-cookie"]

    def open(self, code: str) -> httpx.Response:
        return self.http.get("/scan", params={"code": code})

    def submit(self, page: httpx.Response, form_id: str, **typed: str) -> httpx.Response:
        form = forms_of(page.text).forms[form_id]
        fields = dict(form["fields"]) | typed
        assert fields.get("csrf"), "the form carries no CSRF token"
        return self.http.post(form["action"], data=fields, headers=self.origin())

    def close(self) -> None:
        self.http.close()


def init(settings: Settings) -> str:
    """``lotledger init`` on a fresh data directory: the first admin key."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "api.cli",
            "init",
            "--data-dir",
            str(settings.data_dir),
            "--database-url",
            settings.database_url,
            "--json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("LOTLEDGER_")},
    )
    admin: str = json.loads(out.stdout)["admin_key"]
    return admin


@pytest.fixture
def fresh(settings: Settings) -> tuple[Settings, str]:
    assert not settings.data_dir.exists()
    return settings, init(settings)


def post(http: httpx.Client, key: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = http.post(path, json=body, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 201, r.text
    answer: dict[str, Any] = r.json()
    return answer


def stock(http: httpx.Client, key: str) -> dict[str, str]:
    r = http.get(f"/v1/lots/{LETTUCE}/{LOT}/stock", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200, r.text
    return {line["location_id"]: line["on_hand"] for line in r.json()["locations"]}


def log_size(http: httpx.Client) -> int:
    return int(http.get("/v1/log/checkpoint").text.splitlines()[1])


def test_supplier_to_shelf_by_gln_and_scan(fresh: tuple[Settings, str]) -> None:
    settings, admin = fresh
    service = serve(settings, workers=2)
    base = next(service)
    api = httpx.Client(base_url=base, timeout=30)
    dc = Staff(base)
    store = Staff(base)
    try:
        # The operator sets up the chain; locations carry GLNs.
        post(api, admin, "/v1/organisations", {"id": "farm", "name": "Green Valley Farm"})
        post(api, admin, "/v1/organisations", {"id": "retail", "name": "Corner Grocers"})
        for loc, org, kind, gln in [
            ("field-3", "farm", "farm", FARM_GLN),
            ("dc-north", "retail", "distribution_centre", DC_GLN),
            ("store-7", "retail", "store", STORE_GLN),
        ]:
            body = {"id": loc, "org_id": org, "name": loc.title(), "kind": kind, "gln": gln}
            post(api, admin, "/v1/locations", body)
        new_keys = {
            name: post(api, admin, "/v1/keys", {"org_id": org, "role": role, "label": name})
            for name, org, role in [
                ("farm", "farm", "supplier"),
                ("dc", "retail", "warehouse"),
                ("store", "retail", "store"),
                ("manager", "retail", "manager"),
            ]
        }
        keys = {name: k["secret"] for name, k in new_keys.items()}

        # The farm registers and ships with GLNs, through the API with its key.
        lot = {"gtin": LETTUCE, "lot": LOT}
        farm_events = [
            {
                "event_id": "0190f0a0-0000-7000-8000-000000000001",
                "type": "register",
                "event_time": "2026-11-20T07:00:00+01:00",
                "location": FARM_GLN,
                "lot": lot,
                "quantity": "100",
                "unit": "kg",
                "product": "Romaine lettuce",
                "kind": "harvest",
                "expiry": "2030-12-31",
            },
            {
                "event_id": "0190f0a0-0000-7000-8000-000000000002",
                "type": "ship",
                "event_time": "2026-11-20T08:00:00+01:00",
                "location": FARM_GLN,
                "to_location": DC_GLN,
                "lot": lot,
                "quantity": "60",
                "unit": "kg",
                "reference": {"type": "bol", "number": "BOL-7731"},
            },
        ]
        receipts = post(api, keys["farm"], "/v1/events", {"events": farm_events})["receipts"]
        assert [r["seq"] for r in receipts] == [0, 1]
        # The log names the locations by id, however the supplier named them.
        # (The log's contents answer the operator's admin key, as a regulator's.)
        entries = api.get(
            "/v1/log/entries",
            params={"start": 0, "end": 2},
            headers={"Authorization": f"Bearer {admin}"},
        ).json()["entries"]
        logged = [json.loads(base64.b64decode(e["leaf"]))["event"] for e in entries]
        assert [(e["location"], e.get("to_location")) for e in logged] == [
            ("field-3", None),
            ("field-3", "dc-north"),
        ]
        # An unknown GLN is refused by name, and nothing is written.
        wrong = farm_events[1] | {
            "event_id": "0190f0a0-0000-7000-8000-000000000003",
            "to_location": "4012345000030",
        }
        r = api.post(
            "/v1/events",
            json={"events": [wrong]},
            headers={"Authorization": f"Bearer {keys['farm']}"},
        )
        assert r.status_code == 422
        assert r.json()["errors"][0]["field"] == "to_location"
        assert "unknown GLN 4012345000030" in r.json()["errors"][0]["message"]
        assert log_size(api) == 2

        # The farm prints the label; the DC's phone reads its QR code.
        label = api.get(
            f"/v1/lots/{LETTUCE}/{LOT}/label.png",
            headers={"Authorization": f"Bearer {keys['farm']}"},
        )
        assert label.status_code == 200
        image = Image.open(io.BytesIO(label.content))
        (code,) = [
            b.text
            for b in zxingcpp.read_barcodes(image)
            if b.format == zxingcpp.BarcodeFormat.QRCode  # beside it: the GS1-128 barcode
        ]
        assert parse_scan(code).lot == LOT

        # The DC signs in: the cookie is a session token, HttpOnly, never the key.
        cookie = dc.sign_in(keys["dc"])
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        assert keys["dc"] not in cookie
        assert keys["dc"] not in str(dc.http.cookies.jar)
        assert re.match(r"lotledger_session=ls_[A-Za-z0-9_-]{43};", cookie)

        # The DC receives the farm's delivery: From and At preselected from the shipment.
        page = dc.open(code)
        assert page.status_code == 200
        receive = forms_of(page.text).forms["form-receive"]["fields"]
        assert (receive["location"], receive["from_location"]) == ("dc-north", "field-3")
        r = dc.submit(page, "form-receive", quantity="60")
        assert r.status_code == 201, text_of(r.text)
        assert "Recorded: receive 60 kg at dc-north" in text_of(r.text)

        # The DC ships to its own store: "To" offers the organisation's own store.
        forms = forms_of(r.text)
        assert "store-7" in forms.options["ship-to"]
        r = dc.submit(r, "form-ship", location="dc-north", to_location="store-7", quantity="25")
        assert r.status_code == 201, text_of(r.text)
        assert "Recorded: ship 25 kg at dc-north" in text_of(r.text)

        # The store receives by scan: its DC is the preselected "From".
        store.sign_in(keys["store"])
        page = store.open(code)
        receive = forms_of(page.text).forms["form-receive"]["fields"]
        assert (receive["location"], receive["from_location"]) == ("store-7", "dc-north")
        r = store.submit(page, "form-receive", quantity="25")
        assert r.status_code == 201, text_of(r.text)

        # Selling more than is on the shelf is refused at the quantity, which is kept.
        r = store.submit(r, "form-sell", quantity="30")
        assert r.status_code == 409
        error = re.search(r'id="sell-quantity-error">([^<]+)<', r.text)
        assert error is not None
        assert "Cannot sell 30 kg of lot" in unescape(error.group(1))
        assert "25 on hand" in unescape(error.group(1))
        assert forms_of(r.text).forms["form-sell"]["fields"]["quantity"] == "30"
        r = store.submit(r, "form-sell", quantity="7")
        assert r.status_code == 201, text_of(r.text)
        assert "Recorded: sell 7 kg at store-7" in text_of(r.text)
        assert re.search(r"<dt>store-7</dt><dd>18 kg</dd>", r.text)

        # What the manager sees: 40 at the farm is not theirs; 35 at the DC, 18 on the shelf.
        assert stock(api, keys["manager"]) == {"dc-north": "35", "store-7": "18"}
        assert stock(api, keys["farm"])["field-3"] == "40"
        size = log_size(api)
        assert size == 6  # register, ship; the DC's receive and ship; the store's receive, sale

        # A restart: the store's session survives it.
        service.close()
        service = serve(settings, workers=2)
        base = next(service)
        api.base_url = httpx.URL(base)
        store.rebase(base)
        dc.rebase(base)
        page = store.open(code)
        assert "retail · store" in unescape(page.text)
        assert 'id="form-sell"' in page.text

        # The store's key is revoked: the session ends at once, on every worker.
        revoked = api.delete(
            f"/v1/keys/{new_keys['store']['id']}", headers={"Authorization": f"Bearer {admin}"}
        )
        assert revoked.status_code == 200
        assert revoked.json()["revoked_at"] is not None
        for _ in range(4):  # requests land on either worker
            assert 'action="/scan/session"' in store.open(code).text
        r = store.submit(page, "form-sell", quantity="1")
        assert r.status_code == 401
        assert "Your session has ended" in r.text
        assert log_size(api) == size
        # The DC's session is untouched.
        assert "retail · warehouse" in unescape(dc.open(code).text)
    finally:
        dc.close()
        store.close()
        api.close()
        service.close()
