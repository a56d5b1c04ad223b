"""Where things go on a label, independent of PNG, PDF or ZPL.

Units are points (1/72 inch) with the origin at the top-left corner. Each renderer
passes its own ``measure(text, size) -> width`` so wrapping uses the metrics it
will draw with. Text shrinks until it fits its box; at the smallest size it is cut
with an ellipsis; it never runs outside the box.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from labels.data import LabelData
from labels.errors import LabelDataError

__all__ = ["PNG_STOCKS", "Box", "Line", "TextBlock", "fit_text", "split_label", "wrap"]

#: Thermal label stock, (width, height) in inches: 4x6 shipping/pallet labels, and
#: 4x3 and 4x2 case labels, the common Zebra desktop sizes.
PNG_STOCKS: dict[str, tuple[float, float]] = {
    "4x6": (4.0, 6.0),
    "4x3": (4.0, 3.0),
    "4x2": (4.0, 2.0),
}
LINE_SPACING = 1.18
MIN_SCALE = 0.45
ELLIPSIS = "…"

Measure = Callable[[str, float], float]

_ATOMS = re.compile(
    r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef][ \t]*"  # CJK: break anywhere
    r"|[^\s\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]+[ \t]*"
    r"|\s+"
)


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Line:
    text: str
    size: float  # font size in points
    y: float  # top of the line box, in points from the top of the text box


@dataclass(frozen=True)
class TextBlock:
    lines: tuple[Line, ...]
    height: float


def split_label(width: float, height: float, margin: float) -> tuple[Box, Box, bool]:
    """QR area (a square) and text area for a label; True if QR is on top (portrait)."""
    if width < 72 or height < 72:
        raise LabelDataError(
            f"label {width / 72:.2f}x{height / 72:.2f} in: too small for a QR and text"
        )
    inner_w, inner_h = width - 2 * margin, height - 2 * margin
    if height >= 1.25 * width:
        side = min(inner_w, inner_h * 0.5)
        qr = Box(margin + (inner_w - side) / 2, margin, side, side)
        text = Box(margin, margin + side + margin / 2, inner_w, inner_h - side - margin / 2)
        return qr, text, True
    side = min(inner_h, inner_w * 0.45)
    qr = Box(margin, margin + (inner_h - side) / 2, side, side)
    text = Box(margin + side + margin / 2, margin, inner_w - side - margin / 2, inner_h)
    return qr, text, False


def _hard_break(atom: str, width: float, size: float, measure: Measure) -> list[str]:
    pieces, current = [], ""
    for char in atom:
        if current and measure(current + char, size) > width:
            pieces.append(current)
            current = char
        else:
            current += char
    pieces.append(current)
    return pieces


def wrap(text: str, width: float, size: float, measure: Measure) -> list[str]:
    """Greedy wrap at spaces and between CJK characters; overlong words are broken."""
    lines: list[str] = []
    current = ""
    for atom in _ATOMS.findall(" ".join(text.split())):
        candidate = current + atom
        if measure(candidate.rstrip(), size) <= width:
            current = candidate
            continue
        if current.strip():
            lines.append(current.rstrip())
        current = atom.lstrip()
        if measure(current.rstrip(), size) > width:
            *full, current = _hard_break(current.rstrip(), width, size, measure)
            lines.extend(full)
    if current.strip():
        lines.append(current.rstrip())
    return lines or [""]


def _truncate(line: str, width: float, size: float, measure: Measure) -> str:
    while line and measure(line + ELLIPSIS, size) > width:
        line = line[:-1]
    return line.rstrip() + ELLIPSIS


def label_texts(label: LabelData) -> list[tuple[str, float, int]]:
    """(text, relative size, max lines) for each text item, most important first."""
    items = [(label.product, 1.0, 3)]
    for caption, value in label.fields():
        relative = 0.8 if caption == "LOT" else 0.6
        items.append((f"{caption} {value}" if caption else value, relative, 2))
    return items


def fit_text(
    items: list[tuple[str, float, int]], box: Box, base_size: float, measure: Measure
) -> TextBlock:
    """Lay out ``items`` in ``box``: the largest scale of ``base_size`` at which all fit."""
    scale = 1.0
    while True:
        lines: list[Line] = []
        y = 0.0
        fits = True
        for text, relative, max_lines in items:
            size = base_size * relative * scale
            wrapped = wrap(text, box.width, size, measure)
            if len(wrapped) > max_lines:
                fits = False
                wrapped = [
                    *wrapped[: max_lines - 1],
                    _truncate(wrapped[max_lines - 1], box.width, size, measure),
                ]
            for part in wrapped:
                lines.append(Line(part, size, y))
                y += size * LINE_SPACING
        if y > box.height:
            fits = False
        if fits or scale <= MIN_SCALE:
            break
        scale = max(MIN_SCALE, scale * 0.88)
    # At the smallest size, drop whole lines from the end rather than overflow.
    kept = [line for line in lines if line.y + line.size * LINE_SPACING <= box.height + 1e-6]
    return TextBlock(tuple(kept), min(y, box.height))
