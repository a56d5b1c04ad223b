"""PDF labels: one per page on 4x6 thermal stock, or sheets of die-cut office labels.

Sheet layouts (the two most stocked label sheets for shipping/case labels):

* ``"a4"``: 2 x 4 labels of 99.1 x 67.7 mm, Avery L7165 / J8165 geometry (left
  margin 4.65 mm, top margin 13.1 mm, 2.5 mm gutter, no row gap);
* ``"letter"``: 2 x 5 labels of 4 x 2 in, Avery 5163 / 8163 geometry (left margin
  5/32 in, top margin 1/2 in, 3/16 in gutter, no row gap);
* ``"4x6"``: one 4 x 6 in label per page, for thermal printers driven by PDF.

QR codes and GS1-128 bars are vector paths (one rectangle per horizontal run of dark
modules, one per bar), so they are sharp at any printer resolution and cheap to
write; text is set in the label font, embedded as a subset. The layout is
:func:`labels.design.compose`'s, as for PNG and ZPL.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.units import inch, mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from labels.data import LabelData
from labels.design import compose
from labels.errors import LabelDataError
from labels.fonts import LabelFont, label_font
from labels.png import check_text

__all__ = ["SHEETS", "Sheet", "render_pdf"]

FONT_NAME = "LotledgerLabel"
MARGIN = 0.08 * inch


@dataclass(frozen=True)
class Sheet:
    page: tuple[float, float]
    label: tuple[float, float]
    columns: int
    rows: int
    left: float
    top: float
    pitch_x: float
    pitch_y: float
    #: Resolution of the printers the stock goes through: GS1-128 modules are whole
    #: dots of it (203 dpi thermal printers for 4x6; 300/600 dpi office printers).
    printer_dpi: int = 300

    def origins(self) -> list[tuple[float, float]]:
        """Bottom-left corner of each label, in reading order (PDF coordinates)."""
        return [
            (
                self.left + c * self.pitch_x,
                self.page[1] - self.top - r * self.pitch_y - self.label[1],
            )
            for r in range(self.rows)
            for c in range(self.columns)
        ]


SHEETS: dict[str, Sheet] = {
    "4x6": Sheet((4 * inch, 6 * inch), (4 * inch, 6 * inch), 1, 1, 0, 0, 0, 0, printer_dpi=203),
    "a4": Sheet(A4, (99.1 * mm, 67.7 * mm), 2, 4, 4.65 * mm, 13.1 * mm, 101.6 * mm, 67.7 * mm),
    "letter": Sheet(
        LETTER, (4 * inch, 2 * inch), 2, 5, 5 / 32 * inch, 0.5 * inch, 4.1875 * inch, 2 * inch
    ),
}


@lru_cache(maxsize=4)
def _register(font: LabelFont) -> float:
    """Register the label font with reportlab; return its ascent per point of size."""
    if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT_NAME, font.path, subfontIndex=font.index))
    registered = pdfmetrics.getFont(FONT_NAME)
    if not isinstance(registered, TTFont):
        raise TypeError(f"reportlab font {FONT_NAME!r} is not the TrueType label font")
    return float(registered.face.ascent) / 1000


def _measure(text: str, size: float) -> float:
    return float(pdfmetrics.stringWidth(text, FONT_NAME, size))


def _bar_runs(modules: str) -> list[tuple[int, int]]:
    """(first module, width) of each bar."""
    return [(m.start(), m.end() - m.start()) for m in re.finditer("1+", modules)]


def _draw_label(
    canvas: Canvas, label: LabelData, origin: tuple[float, float], sheet: Sheet, ascent: float
) -> None:
    x, y = origin
    w, h = sheet.label
    design = compose(
        label,
        width=w,
        height=h,
        per_inch=inch,
        margin=MARGIN,
        measure=_measure,
        whole_dots=False,
        bar_grid=inch / sheet.printer_dpi,
    )
    top = y + h  # the design's y runs down from the label's top edge
    qr = design.qr
    matrix = qr.matrix
    # Symbol origin (bottom-left of the last row) in a module-sized coordinate system.
    ox = x + qr.x
    oy = top - qr.y - matrix.size * qr.module
    ops = [f"q {qr.module:.5f} 0 0 {qr.module:.5f} {ox:.4f} {oy:.4f} cm"]
    last = matrix.size - 1
    ops.extend(f"{c} {last - r} {n} 1 re" for r, c, n in matrix.runs())
    ops.append("f Q")
    for bars in design.bars:
        bottom = top - bars.y - bars.height
        ops.append(f"q {bars.module:.5f} 0 0 {bars.height:.4f} {x + bars.x:.4f} {bottom:.4f} cm")
        ops.extend(f"{start} 0 {n} 1 re" for start, n in _bar_runs(bars.symbol.modules()))
        ops.append("f Q")
    canvas.addLiteral("\n".join(ops))
    for text in design.texts:
        canvas.setFont(FONT_NAME, text.size)
        canvas.drawString(x + text.x, top - text.y - text.size * ascent, text.text)


def render_pdf(labels: Sequence[LabelData], *, stock: str = "4x6") -> bytes:
    """A PDF of ``labels`` on ``stock`` ("4x6", "a4" or "letter"), filled in reading order."""
    if stock not in SHEETS:
        raise LabelDataError(f"PDF stock {stock!r}: expected one of {sorted(SHEETS)}")
    if not labels:
        raise LabelDataError("render_pdf: no labels given")
    font = label_font()
    for label in labels:
        check_text(font, label)
    ascent = _register(font)
    sheet = SHEETS[stock]
    origins = sheet.origins()
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=sheet.page, pageCompression=1, invariant=1)
    canvas.setTitle("Lotledger labels")
    canvas.setFillGray(0)
    for index, label in enumerate(labels):
        slot = index % len(origins)
        if slot == 0 and index:
            canvas.showPage()
            canvas.setFillGray(0)
        _draw_label(canvas, label, origins[slot], sheet, ascent)
    canvas.showPage()
    canvas.save()
    return out.getvalue()
