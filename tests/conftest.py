"""Shared fixtures: every test gets its own database.

SQLite (the default): a fresh file under the test's tmp_path. PostgreSQL, when
``LOTLEDGER_TEST_DATABASE_URL`` names one: a fresh schema per test, dropped
afterwards. A PostgreSQL URL that cannot be reached fails the run; it never
skips.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ledger import Ledger, Settings, create_location, create_organisation
from ledger.config import normalize_url

PG_URL = os.environ.get("LOTLEDGER_TEST_DATABASE_URL", "")


def backend() -> str:
    return "postgresql" if PG_URL else "sqlite"


def pytest_report_header(config: pytest.Config) -> str:
    return f"lotledger test database: {backend()} {PG_URL}"


def _schema_url(schema: str) -> str:
    url = make_url(normalize_url(PG_URL))
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database of the backend under test."""
    with fresh_database(tmp_path) as url:
        yield url


@contextmanager
def fresh_database(directory: Path) -> Iterator[str]:
    """An empty database of the backend under test (a file in ``directory``, or a fresh
    PostgreSQL schema), dropped on exit. For fixtures of any scope."""
    if not PG_URL:
        yield f"sqlite:///{directory / 'ledger.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(normalize_url(PG_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _schema_url(schema)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


def make_settings(directory: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=directory / "data",
        database_url=database_url,
        origin="test.lotledger.example/log",
        signing_key_path=None,
        signing_key=None,
    )


@pytest.fixture
def ledger(settings: Settings) -> Iterator[Ledger]:
    opened = Ledger.open(settings)
    try:
        yield opened
    finally:
        opened.close()


# GTINs with valid check digits, for the tests' supply chain.
LETTUCE = "09506000134352"
TOMATO = "04006381333931"
SALAD = "00012345678905"


@pytest.fixture
def world(ledger: Ledger) -> Ledger:
    """A small supply chain: a farm, a packer, a processor, a DC and two stores."""
    for org, name in [
        ("farm", "Green Valley Farm"),
        ("fresh", "FreshPack Processing"),
        ("retail", "Corner Grocers"),
    ]:
        create_organisation(ledger.engine, org, name)
    for loc, org, kind in [
        ("farm-field-1", "farm", "farm"),
        ("fresh-plant", "fresh", "processor"),
        ("retail-dc", "retail", "distribution_centre"),
        ("store-1", "retail", "store"),
        ("store-2", "retail", "store"),
    ]:
        create_location(
            ledger.engine, loc, org_id=org, name=loc.replace("-", " ").title(), kind=kind
        )
    return ledger


class Events:
    """Builders for valid events; override any field with keyword arguments."""

    time = "2026-11-20T08:00:00+01:00"

    @staticmethod
    def _base(etype: str, location: str, **fields: Any) -> dict[str, Any]:
        event: dict[str, Any] = {
            "event_id": str(uuid.uuid4()),
            "type": etype,
            "event_time": Events.time,
            "location": location,
        }
        event.update(fields)
        return event

    def register(
        self,
        lot: str,
        qty: str = "100",
        *,
        gtin: str = LETTUCE,
        location: str = "farm-field-1",
        **kw: Any,
    ) -> dict[str, Any]:
        return self._base(
            "register",
            location,
            lot={"gtin": gtin, "lot": lot},
            quantity=qty,
            unit="kg",
            product="Romaine lettuce",
            kind="harvest",
            **kw,
        )

    def ship(
        self, lot: str, qty: str, *, frm: str, to: str, gtin: str = LETTUCE, **kw: Any
    ) -> dict[str, Any]:
        return self._base(
            "ship",
            frm,
            lot={"gtin": gtin, "lot": lot},
            quantity=qty,
            unit="kg",
            to_location=to,
            **kw,
        )

    def receive(
        self, lot: str, qty: str, *, frm: str, at: str, gtin: str = LETTUCE, **kw: Any
    ) -> dict[str, Any]:
        return self._base(
            "receive",
            at,
            lot={"gtin": gtin, "lot": lot},
            quantity=qty,
            unit="kg",
            from_location=frm,
            **kw,
        )

    def leave(
        self, etype: str, lot: str, qty: str, *, at: str, gtin: str = LETTUCE, **kw: Any
    ) -> dict[str, Any]:
        return self._base(etype, at, lot={"gtin": gtin, "lot": lot}, quantity=qty, unit="kg", **kw)

    def hold(self, lot: str, *, at: str, gtin: str = LETTUCE) -> dict[str, Any]:
        return self._base(
            "hold", at, lot={"gtin": gtin, "lot": lot}, kind="quality", reason="listeria test"
        )

    def release(self, lot: str, *, at: str, gtin: str = LETTUCE) -> dict[str, Any]:
        return self._base("release", at, lot={"gtin": gtin, "lot": lot}, reason="retest negative")


@pytest.fixture
def ev() -> Events:
    return Events()


@pytest.fixture
def table_dump(ledger: Ledger) -> Callable[[str], list[tuple[Any, ...]]]:
    def dump(table: str) -> list[tuple[Any, ...]]:
        with ledger.engine.connect() as conn:
            rows = conn.exec_driver_sql(f"SELECT * FROM {table}").all()
        return sorted(tuple(r) for r in rows)

    return dump
