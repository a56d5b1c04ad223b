"""What goes on a lot's label: the Digital Link URI for the QR and the text beside it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from labels.digital_link import lot_uri, parse_scan
from labels.errors import LabelDataError, ScanError
from verifier.gs1 import IdentifierError, validate_gtin, validate_lot

__all__ = ["LabelData"]


@dataclass(frozen=True)
class LabelData:
    """One label. The QR encodes ``uri``; the text repeats what it says for people.

    On construction the GTIN is normalised to 14 digits and the URI is parsed: its
    GTIN, lot and expiry must be the ones printed, so the code and the text can
    never disagree. ``quantity`` is text (``"12"``, ``"1.5"``) printed with ``unit``.
    """

    uri: str
    gtin: str
    lot: str
    product: str
    expiry: date | None
    origin: str
    quantity: str
    unit: str
    extra: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        try:
            gtin = validate_gtin(self.gtin)
            validate_lot(self.lot)
        except IdentifierError as exc:
            raise LabelDataError(f"label: {exc}") from exc
        object.__setattr__(self, "gtin", gtin)
        object.__setattr__(self, "extra", tuple(self.extra))
        try:
            scanned = parse_scan(self.uri)
        except ScanError as exc:
            raise LabelDataError(f"label URI {self.uri!r}: {exc}") from exc
        if scanned.uri is None:
            raise LabelDataError(f"label URI {self.uri!r}: not a GS1 Digital Link URI")
        printed = (gtin, self.lot, self.expiry)
        encoded = (scanned.gtin, scanned.lot, scanned.expiry)
        if printed != encoded:
            raise LabelDataError(
                f"label URI {self.uri!r} encodes GTIN/lot/expiry {encoded}, the text says {printed}"
            )
        if not self.product.strip():
            raise LabelDataError("label: product name is empty")

    @classmethod
    def for_lot(
        cls,
        resolver: str,
        *,
        gtin: str,
        lot: str,
        product: str,
        expiry: date | None,
        origin: str,
        quantity: str,
        unit: str,
        net_weight_kg: Decimal | None = None,
        attributes: Mapping[str, str] | None = None,
        extra: Sequence[str] = (),
    ) -> LabelData:
        """A label whose URI is built by :func:`labels.digital_link.lot_uri`."""
        uri = lot_uri(
            resolver, gtin, lot, expiry=expiry, net_weight_kg=net_weight_kg, extra=attributes
        )
        return cls(
            uri=uri,
            gtin=gtin,
            lot=lot,
            product=product,
            expiry=expiry,
            origin=origin,
            quantity=quantity,
            unit=unit,
            extra=tuple(extra),
        )

    def fields(self) -> list[tuple[str, str]]:
        """The human-readable lines under the product name, as (caption, value)."""
        lines = [("LOT", self.lot), ("GTIN", self.gtin)]
        if self.expiry is not None:
            lines.append(("EXP", self.expiry.isoformat()))
        if self.origin:
            lines.append(("ORIGIN", self.origin))
        if self.quantity:
            lines.append(("QTY", f"{self.quantity} {self.unit}".strip()))
        lines.extend(("", line) for line in self.extra)
        return lines
