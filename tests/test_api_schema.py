"""schemathesis against the app's own OpenAPI schema: no 5xx, no response that breaks it.

Every operation runs with a real key of a role it admits (admin for master data and keys,
a supplier for events, a regulator for reads), so generated requests reach the handlers.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from ledger.log import Ledger
from tests.api_fixtures import ApiClient, Keys, make_keys
from tests.conftest import Events

MAX_EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def seeded(world: Ledger) -> tuple[Ledger, Keys]:
    keys = make_keys(world)
    client = ApiClient(create_app(world))
    ev = Events()
    r = client.post(
        "/v1/events",
        key=keys.farm,
        json={
            "events": [ev.register("S1"), ev.ship("S1", "5", frm="farm-field-1", to="retail-dc")]
        },
    )
    assert r.status_code == 201
    client.close()
    return world, keys


@pytest.fixture
def app_state(seeded: tuple[Ledger, Keys]) -> dict[str, Any]:
    ledger, keys = seeded
    return {"app": create_app(ledger), "keys": keys}


def _key_for(path: str, method: str, keys: Keys) -> str:
    if path.startswith(("/v1/organisations", "/v1/locations", "/v1/products", "/v1/keys")):
        return keys.admin if method != "GET" or "organisations" in path else keys.farm
    if path == "/v1/events":
        return keys.farm
    return keys.regulator


def test_schema_conformance(app_state: dict[str, Any]) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app_state["app"])
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 23  # every endpoint of the app, whichever routers it has
    for operation in operations:
        _exercise(operation, _key_for(operation.path, operation.method.upper(), app_state["keys"]))


def _exercise(operation: Any, key: str) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def check(case: Any) -> None:
        case.call_and_validate(headers={"Authorization": f"Bearer {key}"}, checks=CHECKS)

    check()


def test_schema_documents_examples_and_limits(app_state: dict[str, Any]) -> None:
    client = ApiClient(app_state["app"])
    spec = client.get("/openapi.json").json()
    client.close()
    for path, item in spec["paths"].items():
        for method, op in item.items():
            body = op.get("requestBody")
            if body is None:
                continue
            content = body["content"]["application/json"]
            schema_ref = content["schema"].get("$ref", "")
            component = spec["components"]["schemas"][schema_ref.rsplit("/", 1)[-1]]
            assert content.get("examples") or component.get("examples"), f"{method} {path}"
    assert "8 MiB" in spec["info"]["description"]
    assert "10,000" in spec["paths"]["/v1/events"]["post"]["requestBody"]["description"]
