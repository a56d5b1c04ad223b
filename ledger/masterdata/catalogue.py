"""The supplier's catalogue price of a product: a fact of the organisation that registered
the product (its brand owner, ``products.org_id``), which alone sets it; every buyer reads
it. An order is valued at the buyer's own agreed unit cost (``ledger.masterdata.terms``), else at
this price (``ledger.events.completion``); a client-sent price never decides approval."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select

from ledger.errors import EventValidationError, NotFound, NotYours, Problem
from ledger.quantity import check_price, format_micro, parse_decimal
from ledger.storage.bulk import upsert_rows
from ledger.storage.db import read_transaction, write_transaction
from ledger.storage.schema import CataloguePrice, Product
from verifier.gs1 import IdentifierError, validate_gtin


@dataclass(frozen=True, slots=True)
class Catalogue:
    gtin: str
    #: The supplier: the organisation that registered the product.
    org_id: str
    unit_price: str


def _gtin(gtin: str) -> str:
    try:
        return validate_gtin(gtin)
    except IdentifierError as exc:
        raise EventValidationError([Problem(0, "gtin", str(exc))]) from None


def set_catalogue_price(engine: Engine, gtin: str, *, org_id: str, unit_price: str) -> Catalogue:
    """Set the catalogue price of a product registered by ``org_id``; NotYours for any
    other organisation, NotFound for an unknown product."""
    gtin = _gtin(gtin)
    try:
        micro = parse_decimal(check_price(unit_price))
    except ValueError as exc:
        raise EventValidationError([Problem(0, "unit_price", str(exc))]) from None
    if micro <= 0:
        raise EventValidationError([Problem(0, "unit_price", "a catalogue price is more than 0")])
    with write_transaction(engine) as conn:
        owner = conn.execute(select(Product.org_id).where(Product.gtin == gtin)).scalar()
        if owner is None:
            raise NotFound(f"product {gtin} does not exist")
        if owner != org_id:
            raise NotYours(
                f"product {gtin} is {owner!r}'s: only that organisation sets its catalogue "
                f"price, not {org_id!r}"
            )
        upsert_rows(
            conn, "product_catalogue", ("gtin", "org_id", "unit_price"), ("gtin",),
            [(gtin, owner, micro)],
        )  # fmt: skip
    return Catalogue(gtin, owner, format_micro(micro))


def catalogue_price(engine: Engine, gtin: str) -> Catalogue:
    """The product's catalogue price (NotFound when its supplier has set none)."""
    gtin = _gtin(gtin)
    with read_transaction(engine) as conn:
        row = conn.execute(
            select(CataloguePrice.org_id, CataloguePrice.unit_price).where(
                CataloguePrice.gtin == gtin
            )
        ).first()
    if row is None:
        raise NotFound(f"product {gtin} has no catalogue price")
    return Catalogue(gtin, row[0], format_micro(row[1]))
