# ruff: noqa: F811 - pytest fixtures imported by name are parameters of the tests
"""The front door and health over HTTP: ``GET /`` by Accept, ``/healthz``, ``/readyz`` (and
each way it fails), the docs pages and their assets, and the security headers every answer
carries from the one middleware."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text

from api.app import create_app
from api.headers import DOCS_CSP, PAGE_CSP
from ledger import Ledger, Settings
from ledger.storage.db import make_engine
from tests.api_fixtures import ApiClient, Keys, api_keys, client  # noqa: F401 - fixtures
from tests.conftest import LETTUCE

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def _assert_common_headers(response: object) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"


def test_index_for_clients_is_json_links(client: ApiClient, ledger: Ledger) -> None:
    for accept in (None, "*/*", "application/json", "text/html;q=0.5, application/json"):
        headers = {} if accept is None else {"Accept": accept}
        r = client.get("/", headers=headers)
        assert r.status_code == 200, accept
        assert r.headers["content-type"] == "application/json"
        assert r.headers["vary"] == "Accept"
        body = r.json()
        assert body["name"] == "Lotledger"
        assert body["origin"] == ledger.origin
        assert body["tree_size"] == 0
        links = {link["rel"]: link["href"] for link in body["links"]}
        assert links["scan"] == "/scan"
        assert links["docs"] == "/docs"
        assert links["redoc"] == "/redoc"
        assert links["health"] == "/healthz"
        assert links["ready"] == "/readyz"
        assert links["checkpoint"] == "/v1/log/checkpoint"
        # Every link the index gives answers: the log's entries a regulator's key only.
        for href in links.values():
            want = 401 if href == "/v1/log/entries" else 200
            assert client.get(href).status_code == want, href


def test_index_for_browsers_is_a_landing_page(client: ApiClient, ledger: Ledger) -> None:
    r = client.get("/", headers={"Accept": BROWSER_ACCEPT})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["content-security-policy"] == PAGE_CSP
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    _assert_common_headers(r)
    page = r.text
    for href in ("/scan", "/docs", "/redoc", "/healthz", "/readyz", "/v1/log/checkpoint"):
        assert f'href="{href}"' in page, href
    assert ledger.origin in page
    assert "<script" not in page  # nothing inline for the CSP to refuse


def test_healthz_and_readyz_when_ready(client: ApiClient, ledger: Ledger) -> None:
    r = client.get("/healthz")
    assert (r.status_code, r.json()) == (200, {"status": "ok"})
    _assert_common_headers(r)
    r = client.get("/readyz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ready"
    checks = {c["name"]: c for c in body["checks"]}
    assert list(checks) == ["database", "migrations", "signing_key"]
    assert all(c["ok"] for c in checks.values())
    assert ledger.signer.key_id.hex() in checks["signing_key"]["detail"]


def _client(ledger: Ledger) -> Iterator[ApiClient]:
    api = ApiClient(create_app(ledger))
    try:
        yield api
    finally:
        api.close()


def _not_ready(api: ApiClient) -> dict[str, object]:
    r = api.get("/readyz")
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["retry-after"] == "5"
    body: dict[str, object] = r.json()
    assert body["type"] == "https://lotledger.dev/problems/not-ready"
    assert body["status"] == 503
    # Alive all the same.
    assert api.get("/healthz").status_code == 200
    return body


def test_readyz_names_unapplied_migrations(settings: Settings, database_url: str) -> None:
    ledger = Ledger.open(settings, migrate=False)
    try:
        for api in _client(ledger):
            body = _not_ready(api)
            checks = {c["name"]: c["ok"] for c in body["checks"]}  # type: ignore[attr-defined]
            assert checks == {"database": True, "migrations": False, "signing_key": True}
            assert "migrations: the database was never migrated" in str(body["detail"])
    finally:
        ledger.close()


def test_readyz_names_a_schema_from_another_version(client: ApiClient, ledger: Ledger) -> None:
    with ledger.engine.begin() as conn:
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES ('9999_future')"))
    body = _not_ready(client)
    assert "9999_future, which this version does not ship" in str(body["detail"])
    assert "database:" not in str(body["detail"])


def test_readyz_names_an_unreachable_database(ledger: Ledger, tmp_path: Path) -> None:
    gone = Ledger(make_engine(f"sqlite:///{tmp_path}/no/such/dir/ledger.db"), ledger.signer)
    try:
        for api in _client(gone):
            body = _not_ready(api)
            checks = {c["name"]: c["ok"] for c in body["checks"]}  # type: ignore[attr-defined]
            assert checks == {"database": False, "migrations": False, "signing_key": True}
            assert str(body["detail"]).startswith("not ready: database: the database does not")
    finally:
        gone.engine.dispose()


def test_readyz_names_a_missing_signing_key(ledger: Ledger) -> None:
    signer = ledger.signer
    ledger.signer = None  # type: ignore[assignment]
    try:
        for api in _client(ledger):
            body = _not_ready(api)
            assert body["detail"] == "not ready: signing_key: no signing key is loaded"
    finally:
        ledger.signer = signer


def test_docs_pages_load_only_shipped_assets(client: ApiClient) -> None:
    for path, assets in (
        ("/docs", ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-init.js")),
        ("/redoc", ("redoc.standalone.js",)),
    ):
        r = client.get(path)
        assert r.status_code == 200
        assert r.headers["content-security-policy"] == DOCS_CSP
        assert r.headers["x-frame-options"] == "DENY"
        _assert_common_headers(r)
        page = r.text
        assert "http://" not in page
        assert "https://" not in page
        assert "<script>" not in page  # only src= scripts: the CSP admits no inline one
        assert "openapi.json" in page
        for name in assets:
            assert f"/docs/assets/{name}" in page
            asset = client.get(f"/docs/assets/{name}")
            assert asset.status_code == 200, name
            assert len(asset.content) > 500, name
            _assert_common_headers(asset)
    bundle = client.get("/docs/assets/swagger-ui-bundle.js")
    assert bundle.headers["content-type"].startswith("text/javascript")
    assert b'PACKAGE_VERSION:"5.32.6"' in bundle.content
    assert b'"2.5.3"' in client.get("/docs/assets/redoc.standalone.js").content
    missing = client.get("/docs/assets/../../ledger.db")
    assert missing.status_code == 404
    r = client.get("/docs/assets/swagger.js")
    assert r.status_code == 404
    assert r.json()["detail"] == "no documentation asset named 'swagger.js'"


def test_security_headers_on_every_kind_of_answer(client: ApiClient, api_keys: Keys) -> None:
    answers = {
        "json": client.get("/v1/me", key=api_keys.store),
        "problem 401": client.get("/v1/me"),
        "problem 404": client.get("/v1/no-such-thing"),
        "text": client.get("/v1/log/checkpoint"),
        "openapi": client.get("/openapi.json"),
        "page": client.get("/scan"),
        "413": client.post(
            "/v1/events",
            content=b"{}",
            headers={"Content-Length": str(10**9), "Content-Type": "application/json"},
            key=api_keys.farm,
        ),
    }
    for what, r in answers.items():
        _assert_common_headers(r)
        assert r.headers.get_list("x-content-type-options") == ["nosniff"], what
        if r.headers["content-type"].startswith("text/html"):
            assert r.headers.get_list("content-security-policy") == [PAGE_CSP], what
        else:
            assert "content-security-policy" not in r.headers, what
    assert answers["413"].status_code == 413
    assert json.loads(answers["problem 404"].content)["status"] == 404


def test_options_and_405_list_every_allowed_method(client: ApiClient, api_keys: Keys) -> None:
    r = client.request("OPTIONS", "/v1/orders", key=api_keys.manager)
    assert (r.status_code, r.headers["allow"]) == (204, "GET, POST, OPTIONS")
    assert r.content == b""
    r = client.request("OPTIONS", f"/v1/lots/{LETTUCE}/L1/stock")
    assert (r.status_code, r.headers["allow"]) == (204, "GET, OPTIONS")
    r = client.delete("/v1/orders", key=api_keys.manager)
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, POST, OPTIONS"
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["detail"] == "DELETE is not allowed here; allowed: GET, POST, OPTIONS"
    r = client.request("PATCH", "/v1/events", key=api_keys.farm)
    assert (r.status_code, r.headers["allow"]) == (405, "POST, OPTIONS")
    assert client.request("OPTIONS", "/v1/no-such-thing").status_code == 404


def test_openapi_documents_problems_patterns_and_strict_booleans(
    client: ApiClient, api_keys: Keys
) -> None:
    spec = client.get("/openapi.json").json()
    problem_body = {"schema": {"$ref": "#/components/schemas/ProblemDetail"}}
    place = spec["paths"]["/v1/orders"]["post"]["responses"]
    for code in ("400", "401", "403", "413", "415", "422"):
        assert place[code]["content"] == {"application/problem+json": problem_body}, code
    stock = spec["paths"]["/v1/lots/{gtin}/{lot}/stock"]["get"]
    assert stock["responses"]["404"]["content"]["application/problem+json"] == problem_body
    params = {p["name"]: p["schema"] for p in stock["parameters"]}
    assert params["gtin"]["pattern"] == "^[0-9]{8,14}$"
    assert params["lot"]["pattern"].endswith("{1,20}$")
    assert "HTTPValidationError" not in json.dumps(spec)
    health = spec["paths"]["/healthz"]["get"]["responses"]
    assert set(health) == {"200", "422"}
    ready = spec["paths"]["/readyz"]["get"]["responses"]["503"]
    assert ready["content"]["application/problem+json"] == problem_body
    # A declared boolean takes only true or false.
    r = client.post(
        "/v1/recalls/R1/confirmations",
        key=api_keys.manager,
        json={"location": "store-1", "dispose": 0},
    )
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"index": 0, "field": "dispose", "message": "Input should be a valid boolean"}
    ]
    # A query parameter that takes one value, given twice.
    r = client.get("/v1/locations?org_id=farm&org_id=retail", key=api_keys.admin)
    assert r.status_code == 422
    assert r.json()["detail"] == "org_id: given 2 times; this parameter takes one value"
