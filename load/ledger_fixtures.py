"""Throw-away ledgers for in-process benchmarks: a temp SQLite file or a fresh PostgreSQL schema."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ledger import Ledger, Settings, create_location, create_organisation
from ledger.config import normalize_url

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
ORIGIN = "bench.lotledger.example/log"


@contextmanager
def database(kind: str, pg_url: str = DEFAULT_PG) -> Iterator[str]:
    """A URL to an empty database: ``sqlite`` (temp file) or ``postgresql`` (fresh schema)."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="lotledger-bench-") as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.db'}"
        return
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalize_url(pg_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = make_url(normalize_url(pg_url)).update_query_dict(
            {"options": f"-csearch_path={schema}"}
        )
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def open_ledger(url: str, **engine_args: Any) -> Iterator[Ledger]:
    with tempfile.TemporaryDirectory(prefix="lotledger-bench-key-") as tmp:
        settings = Settings(Path(tmp), url, ORIGIN, None, None)
        ledger = Ledger.open(settings, **engine_args)
        try:
            yield ledger
        finally:
            ledger.close()


def supply_chain(ledger: Ledger, stores: int = 20) -> None:
    """A farm, a distribution centre and ``stores`` stores."""
    create_organisation(ledger.engine, "farm", "Green Valley Farm")
    create_organisation(ledger.engine, "retail", "Corner Grocers")
    create_location(ledger.engine, "farm-1", org_id="farm", name="Field 1", kind="farm")
    create_location(ledger.engine, "dc-1", org_id="retail", name="DC", kind="distribution_centre")
    for s in range(stores):
        create_location(
            ledger.engine, f"store-{s}", org_id="retail", name=f"Store {s}", kind="store"
        )


def event(etype: str, location: str, lot: str, qty: str, **fields: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": etype,
        "event_time": "2026-11-20T08:00:00+01:00",
        "location": location,
        "lot": {"gtin": "09506000134352", "lot": lot},
        "quantity": qty,
        "unit": "kg",
        **fields,
    }


def lot_journey(n: int, stores: int = 20) -> list[tuple[str, dict[str, Any]]]:
    """Eight events of one lot, farm to shelf: (actor, event) pairs in a valid order."""
    lot = f"L{n:07d}"
    store = f"store-{n % stores}"
    return [
        (
            "farm",
            event("register", "farm-1", lot, "120.5", product="Romaine lettuce", kind="harvest"),
        ),
        ("farm", event("ship", "farm-1", lot, "100", to_location="dc-1")),
        ("retail", event("receive", "dc-1", lot, "100", from_location="farm-1")),
        ("retail", event("ship", "dc-1", lot, "40", to_location=store)),
        ("retail", event("receive", store, lot, "40", from_location="dc-1")),
        ("retail", event("sell", store, lot, "1.25")),
        ("retail", event("sell", store, lot, "2.5")),
        ("retail", event("sell", store, lot, "0.75")),
    ]
