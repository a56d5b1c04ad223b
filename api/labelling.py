"""A lot's label data, shared by the label routes and ``lotledger labels``.

Both print the same label for a lot: its product, lot, expiry and origin as the ledger
records them, the net weight from the product's master data, and a QR code that points at
the resolver base. Nothing here knows HTTP: bad input raises domain errors, which the
routes turn into problem documents and the command into a message.

Errors raised:

- ``verifier.gs1.IdentifierError``: a GTIN or lot code that is malformed
- ``ledger.NotFound``: a lot the ledger does not know, or the viewer may not see
- ``labels.errors.LabelDataError``: label fields a label cannot encode
"""

from __future__ import annotations

import os
from datetime import date
from decimal import Decimal

from labels import LabelData
from ledger import Ledger, NotFound
from ledger.masterdata import directory
from ledger.masterdata.registry import get_location
from ledger.trace import lots
from verifier.gs1 import validate_gtin, validate_lot

__all__ = ["RESOLVER_BASE_ENV", "configured_resolver_base", "label_file_name", "lot_label"]

#: Where lots' Digital Link URIs (and so their labels' QR codes) point, when set; the
#: service otherwise uses the request's base URL, and ``lotledger labels`` asks for one.
RESOLVER_BASE_ENV = "LOTLEDGER_RESOLVER_BASE"


def configured_resolver_base() -> str:
    """The resolver base the environment sets (``LOTLEDGER_RESOLVER_BASE``), or ``""``."""
    return os.environ.get(RESOLVER_BASE_ENV, "").strip()


def lot_label(ledger: Ledger, base: str, gtin: str, lot: str, *, viewer: str | None) -> LabelData:
    """The label of one lot: product, lot, expiry and origin as the ledger records them,
    and the net weight of one trade item from the product's master data (AI 310n).
    ``viewer`` is the organisation whose view of the lot is printed (``None``: every lot)."""
    gtin = validate_gtin(gtin)
    lot = validate_lot(lot)
    info = lots.get_lot(ledger.engine, gtin, lot, viewer=viewer)
    try:
        origin = get_location(ledger.engine, info.origin_location).name
    except NotFound:
        origin = info.origin_location
    try:
        net_weight = directory.get_product(ledger.engine, info.gtin).net_weight_kg
    except NotFound:
        net_weight = None
    return LabelData.for_lot(
        base,
        gtin=info.gtin,
        lot=info.lot,
        product=info.product,
        expiry=None if info.expiry is None else date.fromisoformat(info.expiry),
        origin=origin,
        quantity="",
        unit=info.unit,
        net_weight_kg=None if net_weight is None else Decimal(net_weight),
    )


def label_file_name(label: LabelData, ext: str) -> str:
    """``<GTIN>-<lot>.<ext>``, the lot's characters other than letters, digits, ``-_.``
    replaced by ``_`` (a lot code may hold ``/``)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in label.lot)
    return f"{label.gtin}-{safe}.{ext}"
