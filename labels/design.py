"""The label as a thermal-label designer lays it out, for every renderer alike.

:func:`compose` places a label's parts in the renderer's own units (printer dots for
PNG and ZPL, points for PDF), origin at the top-left corner:

* portrait stock (4x6): the product name across the top; below it the QR code,
  large, on the left, and beside it what staff read at a glance, LOT, EXP and NET,
  each a small caption over a large value; under those GTIN, origin, quantity and
  notes; a GS1-128 barcode with its human-readable line across the bottom;
* landscape stock at least 2.5 in high (4x3, A4 sheet labels): QR on the left, name
  and fields beside it, the GS1-128 barcode across the bottom;
* smaller landscape stock (4x2, Letter sheet labels): QR and text only; the QR
  carries everything the barcode would.

With ``whole_dots`` every QR module and every bar is a whole number of dots, so a
thermal printer never smears one. A GS1-128 symbol too wide for its band at
0.25 mm a module is split in two, the fixed-length elements and the lot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from labels.data import LabelData
from labels.errors import LabelDataError
from labels.gs1_128 import QUIET_ZONE_MODULES as BAR_QUIET
from labels.gs1_128 import Gs1128, gs1_128, symbol_groups
from labels.layout import LINE_SPACING, Box, Measure, fit_text, label_texts
from labels.qr import QUIET_ZONE_MODULES, QrMatrix, qr_matrix

__all__ = ["Bars", "Design", "Qr", "Text", "compose", "text_of"]

MM_PER_INCH = 25.4
#: Largest QR module: 1.5 mm, scanned from arm's length off a pallet.
MAX_QR_MODULE_MM = 1.5
#: Smallest QR module and GS1-128 bar: 0.25 mm, below which thermal heads smear them.
MIN_MODULE_MM = 0.25
#: Widest GS1-128 module: 0.5 mm (GS1 logistic labels start at 0.495 mm).
MAX_BAR_MODULE_MM = 0.5
BARCODE_MIN_HEIGHT_IN = 2.5


@dataclass(frozen=True)
class Text:
    x: float
    y: float  # top of the line box
    size: float  # font size, in the design's units
    text: str


@dataclass(frozen=True)
class Qr:
    x: float  # top-left corner of the symbol itself; its quiet zone lies around it
    y: float
    module: float
    matrix: QrMatrix


@dataclass(frozen=True)
class Bars:
    x: float  # left edge of the first bar; the quiet zones lie either side
    y: float
    module: float
    height: float
    symbol: Gs1128


@dataclass(frozen=True)
class Design:
    width: float
    height: float
    qr: Qr
    bars: tuple[Bars, ...]
    texts: tuple[Text, ...]


@dataclass(frozen=True)
class _Frame:
    """What both layouts need: the stock, its units and the renderer's choices."""

    width: float
    height: float
    per_inch: float
    margin: float
    measure: Measure
    whole: bool
    max_qr_module: float
    max_bar_module: float
    bar_grid: float

    @property
    def inner(self) -> tuple[float, float]:
        return self.width - 2 * self.margin, self.height - 2 * self.margin

    @property
    def gap(self) -> float:
        return self.per_inch * 0.08

    @property
    def point(self) -> float:
        return self.per_inch / 72


def text_of(label: LabelData) -> str:
    """Every piece of text :func:`compose` may print for ``label`` (to check glyphs)."""
    return " ".join(t for t, _, _ in label_texts(label))


def _qr_module(matrix: QrMatrix, side: float, frame: _Frame) -> float:
    total = matrix.size + 2 * QUIET_ZONE_MODULES
    largest = frame.per_inch * MAX_QR_MODULE_MM / MM_PER_INCH
    smallest = frame.per_inch * MIN_MODULE_MM / MM_PER_INCH
    module = min(side / total, largest, frame.max_qr_module)
    if frame.whole:
        module = math.floor(module)
        smallest = math.ceil(smallest - 1e-9)
    if module < smallest - 1e-9:
        raise LabelDataError(
            f"QR version {matrix.version} ({total} modules with quiet zone) needs"
            f" {total * smallest:.0f} dots, the label has room for {side:.0f}:"
            " use a shorter resolver URL or a larger label"
        )
    return module


def _bars(label: LabelData, band: Box, frame: _Frame) -> tuple[list[Bars], list[Text]]:
    """GS1-128 symbols stacked in ``band``, each with its human-readable line under it."""
    per_inch, whole, measure, max_module = (
        frame.per_inch,
        frame.whole,
        frame.measure,
        frame.max_bar_module,
    )
    grid = 1.0 if whole else frame.bar_grid
    smallest = per_inch * MIN_MODULE_MM / MM_PER_INCH
    largest = min(per_inch * MAX_BAR_MODULE_MM / MM_PER_INCH, max_module)
    if whole:
        smallest = math.ceil(smallest - 1e-9)

    def module_for(symbol: Gs1128) -> float:
        """As wide as the band allows, at most ``largest``, a whole number of ``grid``."""
        module = min(band.width / (symbol.width + 2 * BAR_QUIET), largest)
        return math.floor(module / grid + 1e-9) * grid if grid else module

    for group in symbol_groups(label.element_strings()):
        symbols = [gs1_128(elements) for elements in group]
        modules = [module_for(symbol) for symbol in symbols]
        if min(modules) >= smallest - 1e-9:
            break
    else:
        raise LabelDataError(
            f"label for lot {label.lot}: its GS1-128 barcode does not fit"
            f" {band.width / per_inch:.2f} in at {MIN_MODULE_MM} mm a module"
        )
    slot = band.height / len(symbols)
    hri_size = min(slot * 0.2, per_inch * 9 / 72)
    bars: list[Bars] = []
    texts: list[Text] = []
    for i, (symbol, module) in enumerate(zip(symbols, modules, strict=True)):
        top = band.y + i * slot
        height = slot - hri_size * LINE_SPACING - per_inch * 0.03
        width = symbol.width * module
        x = band.x + (band.width - width) / 2
        if whole:
            x, top, height = round(x), round(top), math.floor(height)
        bars.append(Bars(x, top, module, height, symbol))
        room = Box(0, 0, band.width, hri_size * 1.3)
        line = fit_text([(symbol.hri, 1.0, 1)], room, hri_size, measure)
        size = line.lines[0].size
        left = band.x + (band.width - measure(symbol.hri, size)) / 2
        # One text per element string: renderers cache lines, and most elements repeat
        # from label to label ((01) always, (17) and (310n) often).
        for ai, value in symbol.elements:
            piece = f"({ai}){value}"
            texts.append(Text(left, top + height + per_inch * 0.02, size, piece))
            left += measure(piece, size)
    return bars, texts


def _place(
    items: list[tuple[str, float, int]], box: Box, base: float, measure: Measure
) -> list[Text]:
    block = fit_text(items, box, base, measure)
    return [Text(box.x, box.y + line.y, line.size, line.text) for line in block.lines]


def _portrait(label: LabelData, frame: _Frame) -> Design:
    """Name on top; QR with LOT/EXP/NET beside it; the other fields; GS1-128 below."""
    margin, gap, point, measure = frame.margin, frame.gap, frame.point, frame.measure
    inner_w, inner_h = frame.inner
    matrix = qr_matrix(label.uri)
    name_h = min(frame.per_inch * 0.8, inner_h * 0.15)
    band_min = min(frame.per_inch * 1.0, inner_h * 0.18)
    info_h = min(frame.per_inch * 0.8, inner_h * 0.15)
    room = min(inner_w * 0.6, inner_h - name_h - band_min - info_h - 3 * gap)
    module = _qr_module(matrix, room, frame)
    side = module * (matrix.size + 2 * QUIET_ZONE_MODULES)
    qr_top = margin + name_h + gap
    quiet = QUIET_ZONE_MODULES * module
    qr = Qr(margin + quiet, qr_top + quiet, module, matrix)
    name = Box(margin, margin, inner_w, name_h)
    texts = _place([(label.product, 1.0, 2)], name, 24 * point, measure)
    beside = Box(margin + side + gap, qr_top, inner_w - side - gap, side)
    glance: list[tuple[str, float, int]] = [("LOT", 0.45, 1), (label.lot, 1.0, 2)]
    if label.expiry is not None:
        glance += [("EXP", 0.45, 1), (label.expiry.isoformat(), 1.0, 1)]
    if label.net_weight_kg is not None:
        glance += [("NET WEIGHT", 0.45, 1), (label.net_weight, 1.0, 1)]
    texts += _place(glance, beside, min(22 * point, beside.height / 6.5), measure)
    info_top = qr_top + side + gap
    info = Box(margin, info_top, inner_w, frame.height - margin - band_min - gap - info_top)
    rest = [
        (f"{caption} {value}" if caption else value, 1.0, 2)
        for caption, value in label.fields()
        if caption not in ("LOT", "EXP", "NET")
    ]
    lines = _place(rest, info, min(11 * point, info.height / 5), measure)
    texts += lines
    used = max((t.y + t.size * LINE_SPACING for t in lines), default=info_top)
    # The barcode takes the rest of the label, its bars at most about 1.4 in tall.
    band_h = min(frame.height - margin - used - gap, frame.per_inch * 1.6)
    band = Box(margin, frame.height - margin - band_h, inner_w, band_h)
    bars, hri = _bars(label, band, frame)
    return Design(frame.width, frame.height, qr, tuple(bars), tuple(texts + hri))


def _landscape(label: LabelData, frame: _Frame) -> Design:
    """QR on the left, name and fields beside it; GS1-128 across the bottom if tall enough."""
    margin, gap, point = frame.margin, frame.gap, frame.point
    inner_w, inner_h = frame.inner
    matrix = qr_matrix(label.uri)
    band_h = 0.0
    if frame.height >= frame.per_inch * BARCODE_MIN_HEIGHT_IN - 1e-6:
        band_h = min(frame.per_inch * 0.95, inner_h * 0.36)
    top_h = inner_h - band_h - (gap if band_h else 0)
    room = min(top_h, inner_w * 0.45)
    module = _qr_module(matrix, room, frame)
    side = module * (matrix.size + 2 * QUIET_ZONE_MODULES)
    qr_y = margin + (top_h - side) / 2
    if frame.whole:
        qr_y = round(qr_y)
    quiet = QUIET_ZONE_MODULES * module
    qr = Qr(margin + quiet, qr_y + quiet, module, matrix)
    box = Box(margin + side + gap / 2, margin, inner_w - side - gap / 2, top_h)
    base = min(26 * point, box.height / 7.5, box.width / 9)
    texts = _place(label_texts(label), box, base, frame.measure)
    bars: list[Bars] = []
    if band_h:
        band = Box(margin, frame.height - margin - band_h, inner_w, band_h)
        bars, hri = _bars(label, band, frame)
        texts += hri
    return Design(frame.width, frame.height, qr, tuple(bars), tuple(texts))


def compose(
    label: LabelData,
    *,
    width: float,
    height: float,
    per_inch: float,
    margin: float,
    measure: Measure,
    whole_dots: bool,
    max_qr_module: float = math.inf,
    max_bar_module: float = math.inf,
    bar_grid: float = 0.0,
) -> Design:
    """Lay ``label`` out on ``width`` x ``height`` (units: ``per_inch`` to the inch).

    ``measure(text, size)`` is the renderer's text width; ``whole_dots`` makes every
    module a whole unit; ``max_qr_module`` and ``max_bar_module`` cap module sizes (a
    Zebra printer's ``^BQ`` magnification and ``^BY`` width stop at 10 dots);
    ``bar_grid`` (vector output) makes each GS1-128 module a whole number of the
    target printer's dots, so bars print at even widths.
    """
    if width < per_inch or height < per_inch:
        raise LabelDataError(
            f"label {width / per_inch:.2f}x{height / per_inch:.2f} in: too small for a QR and text"
        )
    frame = _Frame(
        width,
        height,
        per_inch,
        margin,
        measure,
        whole_dots,
        max_qr_module,
        max_bar_module,
        bar_grid,
    )
    if height >= 1.25 * width:
        return _portrait(label, frame)
    return _landscape(label, frame)
