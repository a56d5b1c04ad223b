"""PNG labels for thermal printers and screens: 1-bit, at the printer's own resolution.

The image is drawn at the printer's dots per inch (203 or 300), in black and white,
so the printer driver never scales or dithers it: every QR module is a whole number
of dots wide and its edges fall on dot boundaries, which is what makes a thermal
QR scan on the first try.
"""

from __future__ import annotations

import math
import struct
import zlib
from functools import lru_cache

from PIL import Image, ImageDraw

from labels.data import LabelData
from labels.errors import LabelDataError, LabelFontError
from labels.fonts import LabelFont, label_font, missing_glyphs
from labels.layout import PNG_STOCKS, Box, fit_text, label_texts
from labels.qr import QUIET_ZONE_MODULES, QrMatrix, qr_matrix

__all__ = ["DPIS", "module_dots", "qr_image", "render_png"]

DPIS = (203, 300)
MARGIN_IN = 0.1
#: Largest QR module: 1 mm. Bigger only pushes text off small stock without helping.
MAX_MODULE_MM = 1.0
#: Smallest: 0.25 mm (2 dots at 203 dpi), below which thermal printers smear modules.
MIN_MODULE_MM = 0.25


def check_text(font: LabelFont, label: LabelData) -> None:
    """Refuse text the font has no glyphs for, rather than print tofu boxes."""
    text = " ".join(t for t, _, _ in label_texts(label))
    missing = missing_glyphs(font, text)
    if missing:
        raise LabelFontError(
            f"label for lot {label.lot}: the label font {font.path} has no glyphs for"
            f" {missing!r}; set LOTLEDGER_LABEL_FONT to a font that does"
        )


def module_dots(matrix: QrMatrix, side_dots: int, dpi: int) -> int:
    """Dots per QR module: whole dots, as large as fits ``side_dots`` with quiet zone."""
    total = matrix.size + 2 * QUIET_ZONE_MODULES
    largest = max(1, math.floor(dpi * MAX_MODULE_MM / 25.4))
    smallest = math.ceil(dpi * MIN_MODULE_MM / 25.4 - 1e-9)
    dots = min(side_dots // total, largest)
    if dots < smallest:
        raise LabelDataError(
            f"QR version {matrix.version} ({total} modules with quiet zone) needs"
            f" {total * smallest} dots, the label has room for {side_dots} at {dpi} dpi:"
            " use a shorter resolver URL or a larger label"
        )
    return dots


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


@lru_cache(maxsize=4096)
def _line_mask(font: LabelFont, size_px: int, text: str) -> Image.Image:
    """One line of text as a 1-bit mask. Cached: a label run repeats most lines
    (product, GTIN, origin, quantity), and glyph rasterisation is most of the cost."""
    pil = font.pil(size_px)
    _, _, right, bottom = pil.getbbox(text)
    mask = Image.new("1", (max(1, int(right)), max(1, int(bottom))), 0)
    ImageDraw.Draw(mask).text((0, 0), text, font=pil, fill=1)
    return mask


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
    """A 1-bit greyscale PNG of packed rows (no filtering, which suits bilevel art)."""
    raw = b"".join(b"\x00" + row for row in rows)
    per_metre = round(dpi / 0.0254)
    chunks = [
        (b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)),
        (b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)),
        # zlib level 1: a fifth of level 6's time on sparse 1-bit art, ~30 % larger.
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

    matrix = qr_matrix(label.uri)
    portrait = height >= 1.25 * width
    qr_room = (
        min(width - 2 * margin, (height - 2 * margin) // 2)
        if portrait
        else min(height - 2 * margin, int((width - 2 * margin) * 0.45))
    )
    dots = module_dots(matrix, qr_room, dpi)
    side = (matrix.size + 2 * QUIET_ZONE_MODULES) * dots
    if portrait:
        qr_x, qr_y = (width - side) // 2, margin
        text_x, text_y = margin, margin + side
    else:
        qr_x, qr_y = margin, (height - side) // 2
        text_x, text_y = margin + side, margin
    box = Box(text_x, text_y, width - margin - text_x, height - margin - text_y)
    _draw_qr(rows, matrix, dots, qr_x, qr_y, row_bytes)

    scale = dpi / 72

    def measure(text: str, size_pt: float) -> float:
        return font.pil(max(1, round(size_pt * scale))).getlength(text) / scale

    points = Box(box.x / scale, box.y / scale, box.width / scale, box.height / scale)
    base = min(26.0, points.height / 7.5, points.width / 9)
    block = fit_text(label_texts(label), points, base, measure)
    placed = [
        (
            _line_mask(font, max(1, round(line.size * scale)), line.text),
            text_y + round(line.y * scale),
        )
        for line in block.lines
    ]
    if placed:
        top = text_y
        bottom = min(height, max(y + mask.height for mask, y in placed))
        text = Image.new("1", (width, bottom - top), 1)
        for mask, y in placed:
            text.paste(0, (text_x, y - top), mask)
        packed = text.tobytes()
        for i in range(bottom - top):
            chunk = packed[i * row_bytes : (i + 1) * row_bytes]
            existing = rows[top + i]
            rows[top + i] = (
                chunk
                if existing is white
                else (int.from_bytes(chunk, "big") & int.from_bytes(existing, "big")).to_bytes(
                    row_bytes, "big"
                )
            )
    return _png(width, height, rows, dpi)
