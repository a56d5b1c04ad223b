"""Lot labels: GS1 Digital Link URIs, scanning, and PNG/PDF/ZPL rendering.

Depends on identifier helpers only (:mod:`verifier.gs1`), never on the ledger or API.
"""

from labels.data import LabelData
from labels.digital_link import ScannedLot, from_lgtin_urn, lot_uri, parse_scan, to_lgtin_urn
from labels.errors import LabelDataError, LabelError, LabelFontError, ScanError
from labels.render import render_pdf, render_png, render_zpl

__all__ = [
    "LabelData",
    "LabelDataError",
    "LabelError",
    "LabelFontError",
    "ScanError",
    "ScannedLot",
    "from_lgtin_urn",
    "lot_uri",
    "parse_scan",
    "render_pdf",
    "render_png",
    "render_zpl",
    "to_lgtin_urn",
]
