"""Ordering master data, each buying organisation's own: a product's terms (case pack,
minimum order, agreed unit cost, shelf price, removal days, where it is ordered from,
quoted lead time), the suppliers of a product ordered from more than one (each with its
own quoted lead time) and the organisation's approval limit. An organisation reads and
writes only its own rows; another's are neither visible nor changed.

The supplier's catalogue price of a product is a separate fact (``ledger.masterdata.catalogue``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, delete, insert, select

from ledger.errors import EventValidationError, NotFound, Problem
from ledger.events.rules import DEFAULT_APPROVAL_LIMIT
from ledger.quantity import check_price, format_micro, parse_decimal
from ledger.storage.bulk import upsert_rows
from ledger.storage.db import read_transaction, write_transaction
from ledger.storage.schema import Location, OrderPolicy, Product, ProductSupplier, ProductTerms
from verifier.gs1 import IdentifierError, validate_gtin

_TERMS_COLS = (
    "org_id",
    "gtin",
    "case_pack",
    "min_order",
    "unit_cost",
    "unit_price",
    "removal_days",
    "supplier_location",
    "lead_time_days",
)


@dataclass(frozen=True, slots=True)
class Terms:
    org_id: str
    gtin: str
    case_pack: str
    min_order: str
    unit_cost: str
    unit_price: str
    removal_days: int
    supplier_location: str | None
    lead_time_days: int


def _invalid(field: str, message: str) -> EventValidationError:
    return EventValidationError([Problem(0, field, message)])


def set_terms(
    engine: Engine,
    org_id: str,
    gtin: str,
    *,
    case_pack: str = "1",
    min_order: str = "0",
    unit_cost: str = "0",
    unit_price: str = "0",
    removal_days: int = 1,
    supplier_location: str | None = None,
    lead_time_days: int = 2,
) -> Terms:
    """Create or replace ``org_id``'s ordering terms of a product (the product must exist).
    A ``unit_cost`` of 0 means none agreed: orders are valued at the supplier's catalogue
    price then."""
    try:
        gtin = validate_gtin(gtin)
    except IdentifierError as exc:
        raise _invalid("gtin", str(exc)) from None
    values: list[int] = []
    for name, text in (
        ("case_pack", case_pack),
        ("min_order", min_order),
        ("unit_cost", unit_cost),
        ("unit_price", unit_price),
    ):
        try:
            # Prices are bounded (ledger.quantity.MAX_PRICE) so that quantity x price fits.
            checked = check_price(text) if name in ("unit_cost", "unit_price") else text
            values.append(parse_decimal(checked))
        except ValueError as exc:
            raise _invalid(name, str(exc)) from None
    if values[0] <= 0:
        raise _invalid("case_pack", "a case pack holds at least some quantity")
    if not 0 <= removal_days <= 365 or not 0 <= lead_time_days <= 365:
        raise _invalid("removal_days", "days must be between 0 and 365")
    with write_transaction(engine) as conn:
        if conn.execute(select(Product.gtin).where(Product.gtin == gtin)).first() is None:
            raise NotFound(f"product {gtin} does not exist")
        upsert_rows(
            conn,
            "product_terms",
            _TERMS_COLS,
            ("org_id", "gtin"),
            [(org_id, gtin, *values, removal_days, supplier_location, lead_time_days)],
        )
    return get_terms(engine, org_id, gtin)


def get_terms(engine: Engine, org_id: str, gtin: str) -> Terms:
    """``org_id``'s ordering terms of a product (NotFound when it has none, whatever other
    organisations have)."""
    with read_transaction(engine) as conn:
        row = conn.execute(
            select(*(ProductTerms.__table__.c[c] for c in _TERMS_COLS)).where(
                ProductTerms.org_id == org_id, ProductTerms.gtin == gtin
            )
        ).first()
    if row is None:
        raise NotFound(f"organisation {org_id!r} has no ordering terms for product {gtin}")
    return Terms(
        row[0],
        row[1],
        format_micro(row[2]),
        format_micro(row[3]),
        format_micro(row[4]),
        format_micro(row[5]),
        row[6],
        row[7],
        row[8],
    )


@dataclass(frozen=True, slots=True)
class SupplierTerms:
    """One supplier of a product: where it is ordered from and the quoted lead time."""

    supplier_location: str
    lead_time_days: int


def set_suppliers(
    engine: Engine, org_id: str, gtin: str, suppliers: Sequence[tuple[str, int]]
) -> list[SupplierTerms]:
    """Replace ``org_id``'s suppliers of the product: (supplier location, quoted lead time
    in days), the preferred first. An empty list goes back to the terms' single
    ``supplier_location``."""
    try:
        gtin = validate_gtin(gtin)
    except IdentifierError as exc:
        raise _invalid("gtin", str(exc)) from None
    seen: set[str] = set()
    problems: list[Problem] = []
    for n, (location, lead) in enumerate(suppliers):
        if location in seen:
            problems.append(
                Problem(0, f"suppliers.{n}.supplier_location", f"{location!r} is listed twice")
            )
        seen.add(location)
        if not 0 <= lead <= 365:
            problems.append(
                Problem(0, f"suppliers.{n}.lead_time_days", "days must be between 0 and 365")
            )
    if problems:
        raise EventValidationError(problems)
    with write_transaction(engine) as conn:
        if conn.execute(select(Product.gtin).where(Product.gtin == gtin)).first() is None:
            raise NotFound(f"product {gtin} does not exist")
        known = set(conn.execute(select(Location.id).where(Location.id.in_(seen))).scalars())
        unknown = [
            Problem(0, f"suppliers.{n}.supplier_location", f"unknown location {location!r}")
            for n, (location, _) in enumerate(suppliers)
            if location not in known
        ]
        if unknown:
            raise EventValidationError(unknown)
        conn.execute(
            delete(ProductSupplier).where(
                ProductSupplier.org_id == org_id, ProductSupplier.gtin == gtin
            )
        )
        if suppliers:
            conn.execute(
                insert(ProductSupplier),
                [
                    {
                        "org_id": org_id,
                        "gtin": gtin,
                        "supplier_location": loc,
                        "rank": n,
                        "lead_time_days": lead,
                    }
                    for n, (loc, lead) in enumerate(suppliers)
                ],
            )
    return suppliers_of(engine, org_id, gtin)


def suppliers_of(engine: Engine, org_id: str, gtin: str) -> list[SupplierTerms]:
    """``org_id``'s suppliers of the product, preferred first (empty: it has at most its
    terms' one)."""
    with read_transaction(engine) as conn:
        rows = conn.execute(
            select(ProductSupplier.supplier_location, ProductSupplier.lead_time_days)
            .where(ProductSupplier.org_id == org_id, ProductSupplier.gtin == gtin)
            .order_by(ProductSupplier.rank)
        ).all()
    return [SupplierTerms(str(loc), int(lead)) for loc, lead in rows]


def set_approval_limit(engine: Engine, org_id: str, limit: str) -> str:
    """Orders by ``org_id`` worth more than ``limit`` (currency units) need a manager."""
    try:
        micro = parse_decimal(limit)
    except ValueError as exc:
        raise _invalid("approval_limit", str(exc)) from None
    with write_transaction(engine) as conn:
        upsert_rows(
            conn, "order_policies", ("org_id", "approval_limit"), ("org_id",), [(org_id, micro)]
        )
    return format_micro(micro)


def approval_limit(engine: Engine, org_id: str) -> str:
    with read_transaction(engine) as conn:
        found = conn.execute(
            select(OrderPolicy.approval_limit).where(OrderPolicy.org_id == org_id)
        ).scalar_one_or_none()
    return format_micro(DEFAULT_APPROVAL_LIMIT if found is None else found)
