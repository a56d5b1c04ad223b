"""What goes on a lot's label: the Digital Link URI for the QR and the text beside it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from labels.digital_link import ScannedLot, lot_uri, parse_scan
from labels.errors import LabelDataError, ScanError
from labels.gs1_128 import separator_required
from verifier.gs1 import IdentifierError, validate_gtin, validate_lot

__all__ = ["LabelData"]


@dataclass(frozen=True)
class LabelData:
    """One label. The QR encodes ``uri``; the text repeats what it says for people.

    On construction the GTIN is normalised to 14 digits and the URI is parsed: its
    GTIN, lot, expiry and net weight must be the ones printed, so the codes and the
    text can never disagree. ``quantity`` is text (``"12"``, ``"1.5"``) printed with
    ``unit``; ``net_weight_kg`` is the net weight of one trade item of the GTIN, carried
    as AI (310n) in the URI's query and in the GS1-128 symbol.
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
    net_weight_kg: Decimal | None = None
    _scanned: ScannedLot | None = field(default=None, init=False, repr=False, compare=False)

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
        printed = (gtin, self.lot, self.expiry, self.net_weight_kg)
        encoded = (scanned.gtin, scanned.lot, scanned.expiry, scanned.net_weight_kg)
        if printed != encoded:
            raise LabelDataError(
                f"label URI {self.uri!r} encodes GTIN/lot/expiry/net weight {encoded},"
                f" the text says {printed}"
            )
        object.__setattr__(self, "_scanned", scanned)
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
            net_weight_kg=net_weight_kg,
        )

    @property
    def net_weight(self) -> str:
        """The net weight as printed (``"5 kg"``, ``"0.75 kg"``), or ``""``."""
        if self.net_weight_kg is None:
            return ""
        return f"{self.net_weight_kg.normalize():f} kg"

    def element_strings(self) -> tuple[tuple[str, str], ...]:
        """The URI's GS1 element strings, ``(ai, value)``, for the GS1-128 symbol: (01)
        first, then the other fixed-length ones ((17), (310n)...) in the URI's order,
        the variable-length ones ((10)...) last, so that FNC1 separators are fewest."""
        scanned = self._scanned
        assert scanned is not None  # set by __post_init__
        ais = [pair for pair in scanned.ais if pair[0] != "01"]
        fixed = [pair for pair in ais if not separator_required(pair[0])]
        variable = [pair for pair in ais if separator_required(pair[0])]
        return (("01", self.gtin), *fixed, *variable)

    def fields(self) -> list[tuple[str, str]]:
        """The human-readable lines under the product name, as (caption, value)."""
        lines = [("LOT", self.lot), ("GTIN", self.gtin)]
        if self.expiry is not None:
            lines.append(("EXP", self.expiry.isoformat()))
        if self.net_weight_kg is not None:
            lines.append(("NET", self.net_weight))
        if self.origin:
            lines.append(("ORIGIN", self.origin))
        if self.quantity:
            lines.append(("QTY", f"{self.quantity} {self.unit}".strip()))
        lines.extend(("", line) for line in self.extra)
        return lines
