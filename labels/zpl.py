"""ZPL II labels for Zebra thermal printers.

The printer draws the QR code itself (``^BQN``, model 2, error correction Q, the
Digital Link URI as field data ``QA,<uri>``: level Q, automatic mode) and the text
in a printer-resident font. Zebra's built-in font 0 covers Latin text; any other
script needs a Unicode TrueType font stored on the printer (``unicode_font``, e.g.
``"E:SIMSUN.TTF"``), otherwise rendering refuses instead of printing blanks. Text
is UTF-8 (``^CI28``), wrapped here, and written with ``^FH`` hex escapes for the
characters ZPL reserves.
"""

from __future__ import annotations

import unicodedata

from labels.data import LabelData
from labels.errors import LabelDataError, LabelFontError
from labels.layout import PNG_STOCKS, Box, fit_text, label_texts
from labels.png import DPIS, MARGIN_IN, module_dots
from labels.qr import ERROR_CORRECTION_LETTER, QUIET_ZONE_MODULES, qr_matrix

__all__ = ["qr_field_data", "render_zpl"]

MAX_MAGNIFICATION = 10  # ^BQ accepts 1..10 dots per module
_RESERVED = frozenset("^~_")


def qr_field_data(uri: str) -> str:
    """The ``^FD`` data of the QR field: error correction level, automatic mode, URI."""
    return f"{ERROR_CORRECTION_LETTER}A,{uri}"


def _escape(text: str) -> str:
    return "".join(
        "".join(f"_{b:02X}" for b in char.encode()) if char in _RESERVED or ord(char) < 32 else char
        for char in text
    )


def _estimate(text: str, size: float) -> float:
    """Printed width in dots: printer fonts cannot be measured here, so err wide."""
    wide = sum(1 for c in text if unicodedata.east_asian_width(c) in "WF")
    return (wide * 1.0 + (len(text) - wide) * 0.62) * size


def render_zpl(
    label: LabelData,
    *,
    dpi: int = 203,
    size: str = "4x6",
    unicode_font: str | None = None,
) -> str:
    """ZPL II for one label on ``size`` stock at the printer's ``dpi``."""
    if dpi not in DPIS:
        raise LabelDataError(f"dpi {dpi}: Zebra printers here print at {DPIS}")
    if size not in PNG_STOCKS:
        raise LabelDataError(f"label size {size!r}: expected one of {sorted(PNG_STOCKS)}")
    if any(c in label.uri for c in "^~") or not label.uri.isascii():
        raise LabelDataError(f"label URI {label.uri!r}: ZPL field data cannot carry ^ or ~")
    items = label_texts(label)
    if unicode_font is None:
        beyond = sorted({c for t, _, _ in items for c in t if ord(c) > 0xFF})
        if beyond:
            raise LabelFontError(
                f"ZPL label for lot {label.lot}: {''.join(beyond)!r} is outside Zebra font 0;"
                " pass unicode_font= a TrueType font stored on the printer (e.g. 'E:SIMSUN.TTF')"
            )
    width_in, height_in = PNG_STOCKS[size]
    width, height = round(width_in * dpi), round(height_in * dpi)
    margin = round(MARGIN_IN * dpi)
    matrix = qr_matrix(label.uri)
    portrait = height >= 1.25 * width
    room = (
        min(width - 2 * margin, (height - 2 * margin) // 2)
        if portrait
        else min(height - 2 * margin, int((width - 2 * margin) * 0.45))
    )
    dots = min(module_dots(matrix, room, dpi), MAX_MAGNIFICATION)
    side = (matrix.size + 2 * QUIET_ZONE_MODULES) * dots
    if portrait:
        qr_x, qr_y = (width - side) // 2, margin
        box = Box(margin, margin + side, width - 2 * margin, height - 2 * margin - side)
    else:
        qr_x, qr_y = margin, (height - side) // 2
        box = Box(margin + side, margin, width - 2 * margin - side, height - 2 * margin)
    quiet = QUIET_ZONE_MODULES * dots  # ^BQ draws no quiet zone: leave it blank here
    lines = [
        "^XA",
        "^CI28",
        f"^PW{width}",
        f"^LL{height}",
        "^LH0,0",
        f"^FO{qr_x + quiet},{qr_y + quiet}"
        f"^BQN,2,{dots},{ERROR_CORRECTION_LETTER}^FD{qr_field_data(label.uri)}^FS",
    ]
    font = f"^A@N,{{h}},{{h}},{unicode_font}" if unicode_font else "^A0N,{h},{h}"
    base = min(26 * dpi / 72, box.height / 7.5, box.width / 9)
    for line in fit_text(items, box, base, _estimate).lines:
        h = max(10, round(line.size))
        position = f"^FO{round(box.x)},{round(box.y + line.y)}"
        lines.append(f"{position}{font.format(h=h)}^FH^FD{_escape(line.text)}^FS")
    lines.append("^XZ")
    return "\n".join(lines) + "\n"
