"""ZPL II labels for Zebra thermal printers.

The printer draws the QR code itself (``^BQN``, model 2, error correction Q, the
Digital Link URI as field data ``QA,<uri>``: level Q, automatic mode), the GS1-128
barcode (``^BC`` with the code sets and FNC1 spelled out: ``>;`` start C, ``>:`` start
B, ``>8`` FNC1, ``>5``/``>6`` switch to C/B, ``><`` for a ``>`` in the lot) and the text
in a printer-resident font. Zebra's built-in font 0 covers Latin text; any other
script needs a Unicode TrueType font stored on the printer (``unicode_font``, e.g.
``"E:SIMSUN.TTF"``), otherwise rendering refuses instead of printing blanks. Text
is UTF-8 (``^CI28``), wrapped here, and written with ``^FH`` hex escapes for the
characters ZPL reserves.
"""

from __future__ import annotations

import unicodedata

from labels.data import LabelData
from labels.design import compose, text_of
from labels.errors import LabelDataError, LabelFontError
from labels.layout import PNG_STOCKS
from labels.png import DPIS, MARGIN_IN
from labels.qr import ERROR_CORRECTION_LETTER

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
    if unicode_font is None:
        beyond = sorted({c for c in text_of(label) if ord(c) > 0xFF})
        if beyond:
            raise LabelFontError(
                f"ZPL label for lot {label.lot}: {''.join(beyond)!r} is outside Zebra font 0;"
                " name a TrueType font stored on the printer that has it"
            )
    width_in, height_in = PNG_STOCKS[size]
    width, height = round(width_in * dpi), round(height_in * dpi)
    design = compose(
        label,
        width=width,
        height=height,
        per_inch=dpi,
        margin=round(MARGIN_IN * dpi),
        measure=_estimate,
        whole_dots=True,
        max_qr_module=MAX_MAGNIFICATION,
        max_bar_module=MAX_MAGNIFICATION,
    )
    qr = design.qr
    lines = [
        "^XA",
        "^CI28",
        f"^PW{width}",
        f"^LL{height}",
        "^LH0,0",
        # ^BQ draws no quiet zone: the design leaves it blank around the symbol.
        f"^FO{round(qr.x)},{round(qr.y)}"
        f"^BQN,2,{round(qr.module)},{ERROR_CORRECTION_LETTER}^FD{qr_field_data(label.uri)}^FS",
    ]
    for bars in design.bars:
        # GS1-128: ^BC without interpretation line (ours is printed as text below) or
        # check digit of its own; the field data names every code set and FNC1 (>8).
        lines.append(
            f"^FO{round(bars.x)},{round(bars.y)}^BY{round(bars.module)}"
            f"^BCN,{round(bars.height)},N,N,N^FD{bars.symbol.zpl}^FS"
        )
    font = f"^A@N,{{h}},{{h}},{unicode_font}" if unicode_font else "^A0N,{h},{h}"
    for text in design.texts:
        h = max(10, round(text.size))
        position = f"^FO{round(text.x)},{round(text.y)}"
        lines.append(f"{position}{font.format(h=h)}^FH^FD{_escape(text.text)}^FS")
    lines.append("^XZ")
    return "\n".join(lines) + "\n"
