"""Product terms per buying organisation and the supplier's catalogue price (issue 22),
over HTTP with two unrelated retailers: neither reads nor changes the other's terms; each
order's approval follows its own organisation's agreed cost; a sent price other than the
known one, or no known price at all, awaits a manager with the reason; only the
supplier sets its catalogue price."""

from __future__ import annotations

import pytest

from ledger import Ledger, create_location, create_organisation, create_product
from ledger.masterdata import keys
from tests.api_fixtures import ApiClient, Keys, client, make_keys  # noqa: F401 - fixture
from tests.conftest import SALAD

P = "https://lotledger.dev/problems/"


@pytest.fixture
def shop(world: Ledger) -> tuple[Keys, str, str]:
    """Retail (Corner Grocers) and Rival Foods, each with a manager key; the salad is
    FreshPack's product, with a manager key of FreshPack."""
    create_organisation(world.engine, "rival", "Rival Foods")
    create_location(world.engine, "rival-dc", org_id="rival", name="Rival DC", kind="store")
    create_product(world.engine, SALAD, org_id="fresh", description="Garden salad", unit="each")
    rival = keys.create_key(world.engine, "rival", "manager", "test").secret
    fresh_manager = keys.create_key(world.engine, "fresh", "manager", "test").secret
    return make_keys(world), rival, fresh_manager


def _order(http: ApiClient, key: str, buyer: str, qty: str, price: str | None = None) -> dict:
    line = {"gtin": SALAD, "quantity": qty, "unit": "each"}
    if price is not None:
        line["unit_price"] = price
    got = http.post(
        "/v1/orders",
        key=key,
        json={"buyer_location": buyer, "supplier_location": "fresh-plant", "lines": [line]},
    )
    assert got.status_code == 201, got.text
    return got.json()


def test_each_retailer_has_its_own_terms_and_cannot_touch_the_others(
    client: ApiClient,  # noqa: F811 - the fixture
    shop: tuple[Keys, str, str],
) -> None:
    k, rival, _ = shop
    url = f"/v1/replenishment/terms/{SALAD}"
    put = client.request("PUT", url, key=k.manager, json={"unit_cost": "2.5", "case_pack": "12"})
    assert put.status_code == 200, put.text
    assert (put.json()["org_id"], put.json()["unit_cost"]) == ("retail", "2.5")

    # Rival sees none of retail's terms: it has none of its own.
    seen = client.get(url, key=rival)
    assert seen.status_code == 404
    assert seen.json()["type"] == P + "not-found"
    assert "'rival' has no ordering terms" in seen.json()["detail"]
    # Its write is its own: retail's unit cost stays 2.5 (issue 22 set it to 0).
    mine = client.request("PUT", url, key=rival, json={"unit_cost": "0", "case_pack": "6"})
    assert (mine.json()["org_id"], mine.json()["case_pack"]) == ("rival", "6")
    assert client.get(url, key=k.store).json()["unit_cost"] == "2.5"
    assert client.get(url, key=k.store).json()["case_pack"] == "12"
    assert client.get(url, key=rival).json()["unit_cost"] == "0"
    # The same for the product's suppliers.
    body = {"suppliers": [{"supplier_location": "fresh-plant", "lead_time_days": 4}]}
    assert client.request("PUT", f"{url}/suppliers", key=rival, json=body).status_code == 200
    assert client.get(f"{url}/suppliers", key=k.store).json()["suppliers"] == []


def test_approval_follows_each_organisations_known_price(
    client: ApiClient,  # noqa: F811 - the fixture
    shop: tuple[Keys, str, str],
) -> None:
    k, rival, fresh = shop
    url = f"/v1/replenishment/terms/{SALAD}"
    client.request("PUT", url, key=k.manager, json={"unit_cost": "2.5"})
    client.request("PUT", url, key=rival, json={"unit_cost": "60"})
    for key in (k.manager, rival):
        client.request("PUT", "/v1/orders/policy", key=key, json={"approval_limit": "5000"})

    # 100 salads: 250 for retail (under its limit), 6,000 for rival (over it).
    mine = _order(client, k.store, "store-1", "100")
    assert (mine["status"], mine["value"], mine["approval_reason"]) == ("placed", "250", None)
    assert mine["lines"][0]["unit_price"] == "2.5"  # filled in at the agreed cost
    theirs = _order(client, rival, "rival-dc", "100")
    assert theirs["status"] == "awaiting_approval"
    assert theirs["approval_reason"] == (
        "its value at the known prices, 6000, is over the approval limit of 5000"
    )

    # Issue 22: 100,000 units at "0.000001" are valued at the known price, and flagged.
    cheap = _order(client, k.store, "store-1", "100000", price="0.000001")
    assert cheap["status"] == "awaiting_approval"
    assert cheap["lines"][0]["unit_price"] == "0.000001"  # kept as sent
    assert cheap["approval_reason"] == (
        "its value at the known prices, 250000, is over the approval limit of 5000; "
        f"line 1 ({SALAD}): the unit price sent, 0.000001, differs from your agreed unit "
        "cost, 2.5"
    )
    shown = client.get(f"/v1/orders/{cheap['order_id']}", key=k.manager).json()
    assert shown["approval_reason"] == cheap["approval_reason"]

    # Without an agreed cost the supplier's catalogue price is the known one.
    client.request("PUT", url, key=k.manager, json={"unit_cost": "0"})
    none = _order(client, k.store, "store-1", "10")
    assert none["status"] == "awaiting_approval"
    assert none["approval_reason"] == (
        f"line 1 ({SALAD}) has no known price (no agreed unit cost, no catalogue price)"
    )
    got = client.request(
        "PUT", f"/v1/products/{SALAD}/catalogue", key=fresh, json={"unit_price": "3"}
    )
    assert got.json() == {"gtin": SALAD, "org_id": "fresh", "unit_price": "3"}
    listed = _order(client, k.store, "store-1", "10")
    assert (listed["status"], listed["value"]) == ("placed", "30")
    below = _order(client, k.store, "store-1", "10", price="1")
    assert below["status"] == "awaiting_approval"
    assert below["approval_reason"] == (
        f"line 1 ({SALAD}): the unit price sent, 1, differs from the supplier's catalogue price, 3"
    )


def test_only_the_supplier_sets_its_catalogue_price(
    client: ApiClient,  # noqa: F811 - the fixture
    shop: tuple[Keys, str, str],
) -> None:
    k, rival, fresh = shop
    url = f"/v1/products/{SALAD}/catalogue"
    assert client.get(url, key=k.store).status_code == 404
    for key in (k.manager, rival, k.farm, k.admin):
        refused = client.request("PUT", url, key=key, json={"unit_price": "0.01"})
        assert refused.status_code == 403, refused.text
        assert refused.json()["type"] == P + "forbidden"
    assert "only that organisation sets its catalogue price" in refused.json()["detail"]
    assert (
        client.request("PUT", url, key=k.store, json={"unit_price": "1"}).status_code == 403
    )  # role
    assert client.request("PUT", url, key=k.fresh, json={"unit_price": "2.2"}).status_code == 200
    assert client.request("PUT", url, key=fresh, json={"unit_price": "0"}).status_code == 422
    bad = client.request("PUT", url, key=fresh, json={"unit_price": "abc"})
    assert (bad.status_code, bad.json()["errors"][0]["field"]) == (422, "unit_price")
    assert client.get(url, key=rival).json()["unit_price"] == "2.2"
