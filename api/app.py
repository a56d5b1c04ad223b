"""The FastAPI application. ``create_app`` is also uvicorn's factory
(``uvicorn --factory api.app:create_app``): with no arguments it opens the ledger the
``LOTLEDGER_`` environment variables name.

To add a resource, write ``api/routers/<name>.py`` with a ``router`` and add it to ROUTERS.
"""

from __future__ import annotations

import gc
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.openapi.utils import get_openapi

from api import errors
from api.errors import PROBLEM_MEDIA_TYPE
from api.headers import SecurityHeaders
from api.limits import MAX_BATCH, MAX_BODY_BYTES, BodyLimit, JsonBodies, single_valued_query
from api.openapi_links import add_links
from api.routers import _DESCRIPTIONS as _PROBLEM_DESCRIPTIONS
from api.routers import (
    bundles,
    docs,
    epcis,
    events,
    keys,
    labels,
    locations,
    log,
    lots,
    orders,
    organisations,
    products,
    recalls,
    replenishment,
    reports,
    resolver,
    scan,
    service,
    stock,
    tiles,
    tlog_proofs,
    trace,
)
from api.schemas import EpcisDocument, EventBatch, ProblemDetail
from ledger import Ledger, Settings
from ledger.log.group_commit import GroupCommitter
from ledger.log.witnessing import WitnessLoop, load_witnesses
from ledger.tiles import TileStore

ROUTERS: list[APIRouter] = [
    service.router,
    docs.router,
    organisations.router,
    locations.router,
    products.router,
    keys.router,
    events.router,
    labels.router,  # before lots: its /{lot:path} would swallow /label.png
    bundles.router,  # before lots, likewise for /bundle
    lots.router,
    resolver.router,
    scan.router,
    log.router,
    tiles.router,  # C2SP tlog-tiles: /checkpoint, /tile/...
    tlog_proofs.router,  # C2SP tlog-proof: one entry's offline proof
    trace.router,
    recalls.router,
    stock.router,
    orders.router,
    replenishment.router,
    reports.router,
    epcis.router,
]

#: Set by ``lotledger serve`` once it has migrated, so that workers do not race to migrate.
NO_MIGRATE_ENV = "LOTLEDGER_NO_MIGRATE"
#: The served process's threshold for collecting the youngest generation (CPython: 700).
GC_YOUNG_THRESHOLD = 10_000

DESCRIPTION = f"""
Lotledger records every movement of a lot on one append-only, hash-chained log whose
entries are the leaves of an RFC 9162 Merkle tree, with a signed C2SP checkpoint per batch.

**Authentication**: `Authorization: Bearer <key>` or `X-API-Key: <key>`. Each key belongs
to one organisation and one role (admin, supplier, warehouse, store, manager, regulator);
each endpoint names the roles it admits. A missing, unknown or revoked key gets 401; a
role or organisation that may not do something gets 403. The `/v1/log` endpoints are public.

**Errors** are RFC 9457 `application/problem+json` with a stable `type`
(`https://lotledger.dev/problems/...`), a human `detail`, and for batches an `errors`
list with the `index` and `field` of every failing event.

**Limits**: request bodies up to {MAX_BODY_BYTES // (1024 * 1024)} MiB and batches up to
{MAX_BATCH:,} events (413 otherwise); log entries 1000 a page; lot events 1000 a page.
"""


class _LotledgerApp(FastAPI):
    """FastAPI whose OpenAPI document also names the problem, batch and EPCIS models, the
    problem answers of every route, and the links between operations."""

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            schema = get_openapi(
                title=self.title,
                version=self.version,
                description=self.description,
                routes=self.routes,
            )
            _add_component_models(schema, EventBatch, ProblemDetail, EpcisDocument)
            document_problems(schema)
            add_links(schema)
            self.openapi_schema = schema
        return self.openapi_schema


def create_app(
    ledger: Ledger | None = None,
    settings: Settings | None = None,
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> FastAPI:
    """The app over ``ledger``, or over the ledger ``settings`` (default: environment) name."""
    owned = ledger is None
    if ledger is None:
        ledger = Ledger.open(
            settings or Settings.load(),
            migrate=os.environ.get(NO_MIGRATE_ENV) != "1",
            background_checkpoints=True,
        )

    # Writes go through one group-committing writer per process (ledger/log/group_commit.py).
    writer = GroupCommitter(ledger)
    # ... and so do the appends of orders, recalls and counts made through ``Ledger.append``.
    writer.attach()
    # Witnesses (LOTLEDGER_WITNESSES="URL KEY; ..."): asked to cosign in the background.
    witnesses = load_witnesses()
    interval = float(os.environ.get("LOTLEDGER_WITNESS_INTERVAL", "10"))
    witness_loop = WitnessLoop(ledger, witnesses, interval) if witnesses else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if witness_loop is not None:
            witness_loop.start()
        try:
            yield
        finally:
            if witness_loop is not None:
                witness_loop.stop()
            writer.close()
            if owned:
                ledger.close()

    app = _LotledgerApp(
        title="Lotledger",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(single_valued_query)],
        # /docs and /redoc are api/routers/docs.py's: served from assets that ship with us.
        docs_url=None,
        redoc_url=None,
    )
    app.state.ledger = ledger
    app.state.writer = writer
    app.state.tiles = TileStore(ledger)
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router)
    # Inside the body limit: a body to /v1/ must be JSON in UTF-8 (415 otherwise).
    app.add_middleware(JsonBodies)
    app.add_middleware(BodyLimit, limit=max_body_bytes)
    # Outermost, so that every answer gets the headers, the limit's refusals included.
    app.add_middleware(SecurityHeaders)
    return app


def create_served_app() -> FastAPI:
    """``create_app`` for ``lotledger serve``: also moves the heap built at start-up (modules,
    the app, its schemas) out of the garbage collector's way.

    Each 500-event batch allocates tens of thousands of short-lived objects; every full
    collection they trigger would otherwise walk the whole start-up heap again.
    ``gc.freeze`` leaves those objects to reference counting alone (they live as long as
    the process anyway). Only in the served process: tests create and drop many apps.

    The youngest generation is collected after ``GC_YOUNG_THRESHOLD`` net new container
    objects instead of 700: a batch's objects (its dicts, models, rows) live until its
    commit and are freed by reference counting then, so the ten or so young collections
    a 500-event batch triggered at 700, and the middle-generation ones they led to, only
    walked and promoted live objects (their share of a batch's CPU is in
    docs/benchmarks-history.md, "Figures from the code"). Cyclic garbage is still
    collected, a little later.
    """
    app = create_app()
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    return app


_PROBLEM_REF = "#/components/schemas/ProblemDetail"
_PROBLEM_CONTENT = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": _PROBLEM_REF}}}
#: What FastAPI documents for its own 422 (a body we never send: ours is a problem).
_FASTAPI_422 = "#/components/schemas/HTTPValidationError"


_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
#: The pattern of each path parameter, as the ledger checks it when the thing is created
#: or read (so a value that does not match never names anything: 404 or 422).
PATH_PATTERNS = {
    "gtin": r"^[0-9]{8,14}$",
    "lot": r"^[0-9A-Za-z!\"%&'()*+,\-./:;<=>?_]{1,20}$",  # GS1 AI (10): CSET 82
    "org_id": _ID,
    "location": _ID,  # a location id or its GLN
    "recall_id": _ID,
    "key_id": r"^key_[0-9a-f]{16}$",
}


def document_problems(schema: dict[str, Any]) -> None:
    """Document on every operation the problem answers the service really gives:

    - 422 everywhere (any parameter, and a NUL in any URL, is checked);
    - 400 (malformed JSON, not UTF-8), 413 (over the body limit) and 415 (not JSON) on
      every operation that takes a body;
    - 401 and 403 on every operation that needs a key; 404 on every one with a path
      parameter (the thing named is not there or not visible).

    Each as ``application/problem+json`` with the ProblemDetail schema; an entry a route
    documents itself keeps its description, with the problem body added to its content.
    """
    for item in schema.get("paths", {}).values():
        for op in item.values():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            for param in op.get("parameters", []):
                pattern = PATH_PATTERNS.get(param.get("name", ""))
                if param.get("in") == "path" and pattern and "pattern" not in param["schema"]:
                    param["schema"]["pattern"] = pattern
            codes = {422}
            if "requestBody" in op:
                codes |= {400, 413, 415}
            if op.get("security"):
                codes |= {401, 403}
            if any(p.get("in") == "path" for p in op.get("parameters", [])):
                codes.add(404)
            responses = op["responses"]
            pages = any(
                "text/html" in r.get("content", {})
                for c, r in responses.items()
                if str(c).startswith("2")
            )
            for code in sorted(codes | {int(c) for c in responses if str(c)[0] == "4"}):
                entry = responses.setdefault(
                    str(code), {"description": _PROBLEM_DESCRIPTIONS.get(code, "Problem")}
                )
                if pages and "content" not in entry:
                    # A page's own refusal (the resolver's): HTML for browsers.
                    entry["content"] = {"text/html": {"schema": {"type": "string"}}}
                content = entry.setdefault("content", {})
                json_body = content.get("application/json", {}).get("schema", {})
                if json_body.get("$ref") in (_FASTAPI_422, _PROBLEM_REF):
                    # Problems are sent as application/problem+json only.
                    del content["application/json"]
                content.update(_PROBLEM_CONTENT)
    components = schema.get("components", {}).get("schemas", {})
    if not any(_FASTAPI_422 in json.dumps(v) for v in schema.get("paths", {}).values()):
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)


def _add_component_models(schema: dict[str, Any], *models: type[Any]) -> None:
    """Put models that routes refer to by ``$ref`` (not by signature) into the components."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in models:
        doc = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in doc.pop("$defs", {}).items():
            components.setdefault(name, definition)
        components.setdefault(model.__name__, doc)
