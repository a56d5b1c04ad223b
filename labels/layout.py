"""Text in a box, independent of PNG, PDF or ZPL (:mod:`labels.design` places the boxes).

Units are the renderer's (dots or points), origin at the top-left corner. Each renderer
passes its own ``measure(text, size) -> width`` so wrapping uses the metrics it will
draw with. Lines break at spaces and between CJK characters, never between a quantity
and its unit; text shrinks until it fits its box, and text still too long is cut after
a whole word with an ellipsis; it never runs outside the box.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from labels.data import LabelData

__all__ = ["PNG_STOCKS", "Box", "Line", "TextBlock", "fit_text", "keep_quantities_together", "wrap"]

#: Thermal label stock, (width, height) in inches: 4x6 shipping/pallet labels, and
#: 4x3 and 4x2 case labels, the common Zebra desktop sizes.
PNG_STOCKS: dict[str, tuple[float, float]] = {
    "4x6": (4.0, 6.0),
    "4x3": (4.0, 3.0),
    "4x2": (4.0, 2.0),
}
LINE_SPACING = 1.18
MIN_SCALE = 0.45
#: Below this scale, text too long for its lines is cut with an ellipsis instead.
CUT_SCALE = 0.7
ELLIPSIS = "…"

Measure = Callable[[str, float], float]

NBSP = "\u00a0"
_BREAKS = " \t\n\r\f\v"  # break opportunities: ordinary white space, never NBSP
_CJK = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef"
_ATOMS = re.compile(
    rf"[{_CJK}][ \t]*"  # CJK: break anywhere
    rf"|[^{_BREAKS}{_CJK}]+[ \t]*"
    rf"|[{_BREAKS}]+"
)
# A quantity and its unit ("500 g", "1,5 kg", "3 x 500 g", "12 ct") are one word: the
# spaces inside become no-break spaces, so a wrap never leaves a number at a line's end
# and its unit at the next line's start.
_UNITS = (
    "kg|kgs|g|mg|lb|lbs|oz|gal|fl\\.?\u00a0?oz|l|L|ml|mL|cl|dl|ct|count|pcs?|pk|packs?|pack|each|ea"
    "|doz|dozen|cm|mm|m|in|%|°C|°F|x|×"
)
_NUMBER_UNIT = re.compile(rf"(?<=\d)[ \t]+(?=(?:{_UNITS})(?![^\W\d_]))")
_TIMES_NUMBER = re.compile(r"(?<=\d\u00a0[x×])[ \t]+(?=\d)|(?<=\d[x×])[ \t]+(?=\d)")


def keep_quantities_together(text: str) -> str:
    """``text`` with no-break spaces between each number and its unit (or ``x``)."""
    text = _NUMBER_UNIT.sub(NBSP, text)
    return _TIMES_NUMBER.sub(NBSP, text)


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


def _hard_break(atom: str, width: float, size: float, measure: Measure) -> list[str]:
    pieces, current = [], ""
    for char in atom:
        if current and measure((current + char).replace(NBSP, " "), size) > width:
            pieces.append(current)
            current = char
        else:
            current += char
    pieces.append(current)
    return pieces


@lru_cache(maxsize=4096)
def _atoms(text: str) -> tuple[str, ...]:
    """The unbreakable pieces of ``text``, each with the white space after it."""
    words = " ".join(part for part in re.split(f"[{_BREAKS}]+", text) if part)
    return tuple(_ATOMS.findall(keep_quantities_together(words)))


def _wrap(text: str, width: float, size: float, measure: Measure) -> tuple[list[str], bool]:
    """The wrapped lines (NBSP still in them) and whether a word had to be broken."""

    def fits(line: str) -> bool:
        return measure(line.rstrip().replace(NBSP, " "), size) <= width

    lines: list[str] = []
    current = ""
    broke = False
    for atom in _atoms(text):
        candidate = current + atom
        if fits(candidate):
            current = candidate
            continue
        if current.strip():
            lines.append(current.rstrip())
        current = atom.lstrip()
        if not fits(current):
            broke = True
            *full, current = _hard_break(current.rstrip(), width, size, measure)
            lines.extend(full)
    if current.strip():
        lines.append(current.rstrip())
    return lines or [""], broke


def wrap(text: str, width: float, size: float, measure: Measure) -> list[str]:
    """Greedy wrap at spaces and between CJK characters, never between a quantity and
    its unit; a word wider than the line is broken."""
    return [line.replace(NBSP, " ") for line in _wrap(text, width, size, measure)[0]]


def _truncate(line: str, width: float, size: float, measure: Measure) -> str:
    """``line`` cut to fit ``width`` with an ellipsis: after the last whole word that
    fits (a quantity and its unit count as one), else after the last character."""

    def fits(text: str) -> bool:
        return measure(text.replace(NBSP, " ") + ELLIPSIS, size) <= width

    if fits(line):
        return line.rstrip() + ELLIPSIS
    words = line.split(" ")
    while len(words) > 1:
        words.pop()
        if fits(" ".join(words).rstrip(" ,;:-/")):
            return " ".join(words).rstrip(" ,;:-/") + ELLIPSIS
    while line and not fits(line):
        line = line[:-1]
    return line.rstrip() + ELLIPSIS


def label_texts(label: LabelData) -> list[tuple[str, float, int]]:
    """(text, relative size, max lines) for each text item, most important first."""
    items = [(label.product, 1.0, 3)]
    for caption, value in label.fields():
        relative = 0.8 if caption == "LOT" else 0.6
        items.append((f"{caption} {value}" if caption else value, relative, 2))
    return items


def _lay_out(
    items: list[tuple[str, float, int]], box: Box, base: float, measure: Measure
) -> tuple[list[Line], float, bool, bool]:
    """Lines at one scale; their height; whether text was cut; whether a word was broken."""
    lines: list[Line] = []
    y = 0.0
    cut = broke = False
    for text, relative, max_lines in items:
        size = base * relative
        wrapped, broken = _wrap(text, box.width, size, measure)
        broke = broke or broken
        if len(wrapped) > max_lines:
            cut = True
            wrapped = [
                *wrapped[: max_lines - 1],
                _truncate(wrapped[max_lines - 1], box.width, size, measure),
            ]
        for part in wrapped:
            lines.append(Line(part.replace(NBSP, " "), size, y))
            y += size * LINE_SPACING
    return lines, y, cut, broke


def fit_text(
    items: list[tuple[str, float, int]], box: Box, base_size: float, measure: Measure
) -> TextBlock:
    """Lay out ``items`` in ``box``: the largest scale of ``base_size`` at which all fit.

    Text shrinks before a word is broken or a line is cut; text still too long at
    :data:`CUT_SCALE` is cut there with an ellipsis rather than shrunk to the smallest
    size and cut anyway. Lines that still overflow the box are dropped from the end.
    """
    scale = 1.0
    while True:
        lines, y, cut, broke = _lay_out(items, box, base_size * scale, measure)
        overflow = y > box.height + 1e-6
        if not (cut or broke or overflow) or scale <= MIN_SCALE:
            break
        if scale <= CUT_SCALE and not overflow and not broke:
            break  # only cut: smaller type would still be cut, and harder to read
        scale = max(MIN_SCALE, scale * 0.88)
    # At the smallest size, drop whole lines from the end rather than overflow.
    kept = [line for line in lines if line.y + line.size * LINE_SPACING <= box.height + 1e-6]
    return TextBlock(tuple(kept), min(y, box.height))
