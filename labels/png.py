"""PNG labels for thermal printers and screens: 1-bit, at the printer's own resolution.

The image is drawn at the printer's dots per inch (203 or 300), in black and white,
so the printer driver never scales or dithers it: every QR module is a whole number
of dots wide and its edges fall on dot boundaries, which is what makes a thermal
QR scan on the first try.
"""

from __future__ import annotations

import struct
import zlib
from functools import lru_cache

from PIL import Image, ImageDraw

from labels.data import LabelData
from labels.design import Bars, compose, text_of
from labels.errors import LabelDataError, LabelFontError
from labels.fonts import LabelFont, label_font, missing_glyphs
from labels.layout import PNG_STOCKS
from labels.qr import QUIET_ZONE_MODULES, QrMatrix

__all__ = ["DPIS", "qr_image", "render_png"]

DPIS = (203, 300)
MARGIN_IN = 0.1


def check_text(font: LabelFont, label: LabelData) -> None:
    """Refuse text the font has no glyphs for, rather than print tofu boxes."""
    missing = missing_glyphs(font, text_of(label))
    if missing:
        raise LabelFontError(
            f"label for lot {label.lot}: the label font {font.path} has no glyphs for"
            f" {missing!r}; set LOTLEDGER_LABEL_FONT to a font that does"
        )


def qr_image(matrix: QrMatrix, dots: int) -> Image.Image:
    """The symbol with its 4-module quiet zone, ``dots`` pixels per module, mode "1"."""
    size = matrix.size
    row_bytes = (size + 7) // 8
    pad = row_bytes * 8 - size
    full = (1 << size) - 1
    # Mode "1" raw data: 8 pixels per byte, most significant bit first, 1 = white.
    raw = b"".join(((~row & full) << pad).to_bytes(row_bytes, "big") for row in matrix.rows)
    symbol = Image.frombytes("1", (size, size), raw)
    quiet = QUIET_ZONE_MODULES
    framed = Image.new("1", (size + 2 * quiet, size + 2 * quiet), 1)
    framed.paste(symbol, (quiet, quiet))
    return framed.resize((framed.width * dots, framed.height * dots), Image.Resampling.NEAREST)


@lru_cache(maxsize=16384)
def _text_width(font: LabelFont, size_px: int, text: str) -> float:
    return float(font.pil(size_px).getlength(text))


@lru_cache(maxsize=4096)
def _line_ink(font: LabelFont, size_px: int, text: str) -> tuple[int, tuple[int, ...]]:
    """One line of text as packed rows, 1 = ink, and their width in bits. Cached: a label
    run repeats most lines (product, GTIN, origin, captions), and glyph rasterisation
    is most of the cost."""
    pil = font.pil(size_px)
    _, _, right, bottom = pil.getbbox(text)
    mask = Image.new("1", (max(1, int(right)), max(1, int(bottom))), 0)
    ImageDraw.Draw(mask).text((0, 0), text, font=pil, fill=1)
    per_row = (mask.width + 7) // 8
    data = mask.tobytes()
    rows = tuple(
        int.from_bytes(data[i * per_row : (i + 1) * per_row], "big") for i in range(mask.height)
    )
    return per_row * 8, rows


def _draw_qr(
    rows: list[bytes], matrix: QrMatrix, dots: int, x: int, y: int, row_bytes: int
) -> None:
    """Draw the symbol, ``dots`` per module, its quiet zone left white, at (x, y)."""
    quiet = QUIET_ZONE_MODULES * dots
    left = "1" * (x + quiet)
    right = "1" * (row_bytes * 8 - x - quiet - matrix.size * dots)
    expand = {ord("1"): "0" * dots, ord("0"): "1" * dots}  # dark module -> black dots
    for r, bits in enumerate(matrix.rows):
        line = left + format(bits, f"0{matrix.size}b").translate(expand) + right
        packed = int(line, 2).to_bytes(row_bytes, "big")
        top = y + quiet + r * dots
        rows[top : top + dots] = [packed] * dots


def _png(width: int, height: int, rows: list[bytes], dpi: int) -> bytes:
    """A 1-bit greyscale PNG of packed rows. A row equal to the one above it (a QR
    module's dots, a barcode's bars) is written with filter Up, as zeros, which zlib
    compresses at once; the others unfiltered, which suits bilevel art."""
    same = b"\x02" + bytes(len(rows[0]))
    raw = b"".join(
        same if i and (row is rows[i - 1] or row == rows[i - 1]) else b"\x00" + row
        for i, row in enumerate(rows)
    )
    per_metre = round(dpi / 0.0254)
    chunks = [
        (b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)),
        (b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)),
        # zlib level 1: much faster than level 6 on sparse 1-bit art, files a little larger
        # (docs/benchmarks-history.md, "Figures from the code").
        (b"IDAT", zlib.compress(raw, 1)),
        (b"IEND", b""),
    ]
    return b"\x89PNG\r\n\x1a\n" + b"".join(
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        for kind, data in chunks
    )


def _size_inches(size: str | tuple[float, float]) -> tuple[float, float]:
    if isinstance(size, str):
        if size not in PNG_STOCKS:
            raise LabelDataError(f"label size {size!r}: expected one of {sorted(PNG_STOCKS)}")
        return PNG_STOCKS[size]
    width, height = size
    return float(width), float(height)


def _draw_bars(rows: list[bytes], bars: Bars, row_bytes: int) -> None:
    """Draw a GS1-128 symbol, ``bars.module`` dots a module, its bars ``bars.height`` tall."""
    dots = int(bars.module)
    x, top = int(bars.x), int(bars.y)
    expand = {ord("1"): "0" * dots, ord("0"): "1" * dots}  # bar -> black dots
    pattern = bars.symbol.modules().translate(expand)
    line = "1" * x + pattern + "1" * (row_bytes * 8 - x - len(pattern))
    packed = int(line, 2).to_bytes(row_bytes, "big")
    rows[top : top + int(bars.height)] = [packed] * int(bars.height)


def render_png(
    label: LabelData, *, dpi: int = 203, size: str | tuple[float, float] = "4x6"
) -> bytes:
    """A label as a 1-bit PNG at ``dpi`` on ``size`` stock ("4x6", "4x3", "4x2" or inches)."""
    if dpi not in DPIS:
        raise LabelDataError(f"dpi {dpi}: thermal printers here print at {DPIS}")
    width_in, height_in = _size_inches(size)
    font = label_font()
    check_text(font, label)
    width, height = round(width_in * dpi), round(height_in * dpi)
    margin = round(MARGIN_IN * dpi)
    row_bytes = (width + 7) // 8
    white = b"\xff" * row_bytes
    # The image as packed 1-bit rows (1 = white), assembled directly: packing a whole
    # Pillow "1" image costs more than everything else on the label put together.
    rows = [white] * height

    def measure(text: str, size_dots: float) -> float:
        return _text_width(font, max(1, round(size_dots)), text)

    design = compose(
        label,
        width=width,
        height=height,
        per_inch=dpi,
        margin=margin,
        measure=measure,
        whole_dots=True,
    )
    qr = design.qr
    quiet = QUIET_ZONE_MODULES * int(qr.module)
    _draw_qr(rows, qr.matrix, int(qr.module), int(qr.x) - quiet, int(qr.y) - quiet, row_bytes)
    for bars in design.bars:
        _draw_bars(rows, bars, row_bytes)
    # Text is ANDed into the rows as integers: 1 = white, so ink clears bits.
    row_bits = row_bytes * 8
    full = (1 << row_bits) - 1
    inked: dict[int, int] = {}
    for t in design.texts:
        bits, ink_rows = _line_ink(font, max(1, round(t.size)), t.text)
        x, y = round(t.x), round(t.y)
        shift = row_bits - x - bits
        for i, ink in enumerate(ink_rows):
            r = y + i
            if not ink or not 0 <= r < height:
                continue
            placed = ink << shift if shift >= 0 else ink >> -shift
            current = inked.get(r)
            if current is None:
                current = int.from_bytes(rows[r], "big")
            inked[r] = current & ~placed & full
    for r, value in inked.items():
        rows[r] = value.to_bytes(row_bytes, "big")
    return _png(width, height, rows, dpi)
