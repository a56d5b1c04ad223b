"""Some event types are a role's decision: only a manager approves an order."""

from __future__ import annotations

import uuid

from ledger import Ledger
from tests.api_fixtures import ApiClient, Keys, api_keys, client  # noqa: F401 - fixtures


def approval() -> dict[str, object]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": "order_approved",
        "event_time": "2026-11-20T08:00:00+01:00",
        "location": "store-1",
        "order_id": "PO-404",
    }


def test_only_a_manager_may_approve_an_order(
    world: Ledger,
    client: ApiClient,  # noqa: F811 - the fixture imported above
    api_keys: Keys,  # noqa: F811
) -> None:
    refused = client.post("/v1/events", key=api_keys.store, json={"events": [approval()]})
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "may not record order_approved" in refused.json()["detail"]
    assert world.size() == 0

    # A manager passes the role gate; the ledger then judges the event itself.
    judged = client.post("/v1/events", key=api_keys.manager, json={"events": [approval()]})
    assert judged.status_code == 422
    assert "unknown order" in judged.text
    assert world.size() == 0
