"""GS1-128: Code 128 (ISO/IEC 15417) with FNC1 first, carrying GS1 element strings.

A label's GS1-128 symbol says what its QR code says for the scanners a warehouse
already has: GTIN (01), expiry (17), net weight (310n) and lot (10). Fixed-length
elements come first and the variable-length lot last, so no FNC1 separator is
needed between elements (GS1 General Specifications, 5.4.7.5); when one is, FNC1
is written after every variable-length element but the last.

The symbol is encoded here rather than by a barcode library because every output
needs the module pattern itself: the PNG draws it at whole printer dots, the PDF as
vector bars, and the ZPL hands the same code set plan to the printer's ``^BC``
(``>;`` start C, ``>:`` start B, ``>8`` FNC1, ``>5``/``>6`` code C/B). Runs of four
or more digits go in code set C (two digits a symbol character), the rest in B.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from biip import ParseError
from biip.gs1_application_identifiers import GS1ApplicationIdentifier
from biip.gs1_element_strings import GS1ElementString

from labels.errors import LabelDataError
from verifier.gs1 import IdentifierError, validate_gtin

__all__ = ["QUIET_ZONE_MODULES", "Gs1128", "gs1_128", "separator_required", "symbol_groups"]

#: ISO/IEC 15417: a light margin of at least 10 modules on both sides.
QUIET_ZONE_MODULES = 10
#: GS1 General Specifications 5.4.4.4: at most 48 data characters in one symbol.
MAX_DATA_CHARACTERS = 48

# Bar and space widths (bar first) of symbol characters 0..106 (106: stop, 13 modules).
_WIDTH_TABLE = (
    "212222 222122 222221 121223 121322 131222 122213 122312 132212 221213 221312 231212 "
    "112232 122132 122231 113222 123122 123221 223211 221132 221231 213212 223112 312131 "
    "311222 321122 321221 312212 322112 322211 212123 212321 232121 111323 131123 131321 "
    "112313 132113 132311 211313 231113 231311 112133 112331 132131 113123 113321 133121 "
    "313121 211331 231131 213113 213311 213131 311123 311321 331121 312113 312311 332111 "
    "314111 221411 431111 111224 111422 121124 121421 141122 141221 112214 112412 122114 "
    "122411 142112 142211 241211 221114 413111 241112 134111 111242 121142 121241 114212 "
    "124112 124211 411212 421112 421211 212141 214121 412121 111143 111341 131141 114113 "
    "114311 411113 411311 113141 114131 311141 411131 211412 211214 211232 2331112"
)
_WIDTHS = _WIDTH_TABLE.split()
_PATTERNS = tuple(
    "".join(("1" if i % 2 == 0 else "0") * int(w) for i, w in enumerate(widths))
    for widths in _WIDTHS
)
CODE_C, CODE_B, FNC1, START_B, START_C, STOP = 99, 100, 102, 104, 105, 106
_FNC1_MARK = "\x1d"  # stands for FNC1 in the data stream (GS, what a scanner transmits)


@dataclass(frozen=True)
class Gs1128:
    """One GS1-128 symbol: its element strings, symbol characters and ZPL field data."""

    elements: tuple[tuple[str, str], ...]
    codes: tuple[int, ...]  # start, data (FNC1s, code set switches), check digit, stop
    zpl: str  # the ^BC field data that makes a Zebra printer draw the same symbol

    @property
    def hri(self) -> str:
        """The human-readable interpretation: ``(01)09506000134352(17)261231...``."""
        return "".join(f"({ai}){value}" for ai, value in self.elements)

    @property
    def transmitted(self) -> str:
        """What a scanner sends after ``]C1``: element strings, GS after variable ones."""
        return _stream(self.elements)[1:]

    def modules(self) -> str:
        """Bars ``1`` and spaces ``0``, one character a module, without quiet zones."""
        return "".join(_PATTERNS[code] for code in self.codes)

    @property
    def width(self) -> int:
        """Width in modules, without quiet zones."""
        return 11 * (len(self.codes) - 1) + 13


@lru_cache(maxsize=256)
def separator_required(ai: str) -> bool:
    """Whether an element of ``ai`` has a variable length (FNC1 must end it, unless last)."""
    try:
        return bool(GS1ApplicationIdentifier.extract(ai).separator_required)
    except ParseError as exc:
        raise LabelDataError(f"GS1-128: ({ai}) is not a GS1 application identifier") from exc


def _stream(elements: Sequence[tuple[str, str]]) -> str:
    parts = [_FNC1_MARK]
    for index, (ai, value) in enumerate(elements):
        parts.append(ai + value)
        if index < len(elements) - 1 and separator_required(ai):
            parts.append(_FNC1_MARK)
    return "".join(parts)


def _digits_at(data: str, start: int) -> int:
    end = start
    while end < len(data) and data[end].isdigit():
        end += 1
    return end - start


def _run_ends_data(data: str, end: int) -> bool:
    return end >= len(data) or data[end] == _FNC1_MARK


def _encode(data: str) -> tuple[list[int], str]:
    """Symbol characters (start .. data, no check digit) and ZPL field data for ``data``."""
    codes: list[int] = []
    zpl: list[str] = []
    mode = ""
    i = 0
    while i < len(data):
        char = data[i]
        run = _digits_at(data, i)
        if not mode:
            following = _digits_at(data, i + 1) if char == _FNC1_MARK else run
            mode = "C" if following >= 4 or following == len(data) - (char == _FNC1_MARK) else "B"
            codes.append(START_C if mode == "C" else START_B)
            zpl.append(">;" if mode == "C" else ">:")
        if char == _FNC1_MARK:
            codes.append(FNC1)
            zpl.append(">8")
            i += 1
        elif mode == "C" and run >= 2:
            codes.append(int(data[i : i + 2]))
            zpl.append(data[i : i + 2])
            i += 2
        elif mode == "B" and run >= (4 if _run_ends_data(data, i + run) else 6):
            # Digits in C from here, two a character; an odd one out stays in B after.
            mode = "C"
            codes.append(CODE_C)
            zpl.append(">5")
        elif mode == "C":
            mode = "B"
            codes.append(CODE_B)
            zpl.append(">6")
        else:
            value = ord(char) - 32
            if not 0 <= value <= 94:
                raise LabelDataError(f"GS1-128: {char!r} cannot be encoded")
            codes.append(value)
            zpl.append({">": "><"}.get(char, char))
            i += 1
    return codes, "".join(zpl)


@lru_cache(maxsize=4096)
def _check_element(ai: str, value: str) -> None:
    """Refuse an element string that breaks its AI's rules (lru_cache keeps no errors)."""
    try:
        parsed = GS1ElementString.parse(ai + value)
    except ParseError as exc:
        raise LabelDataError(f"GS1-128: ({ai}){value}: {exc}") from exc
    if parsed.ai.ai != ai or parsed.value != value:
        raise LabelDataError(f"GS1-128: ({ai}){value}: not a whole element string for ({ai})")
    if ai in ("01", "02"):
        try:
            validate_gtin(value)
        except IdentifierError as exc:
            raise LabelDataError(f"GS1-128: ({ai}){value}: {exc}") from exc


@lru_cache(maxsize=4096)
def gs1_128(elements: tuple[tuple[str, str], ...]) -> Gs1128:
    """The GS1-128 symbol of ``elements``, ``(ai, value)`` pairs in the order given.

    Each element is checked against the GS1 rules for its AI (length, characters,
    check digit, date) before it is encoded; more than 48 data characters is refused,
    as the GS1 General Specifications require.
    """
    if not elements:
        raise LabelDataError("GS1-128: no element strings")
    for ai, value in elements:
        _check_element(ai, value)
    data = _stream(elements)
    characters = _characters(elements)
    if characters > MAX_DATA_CHARACTERS:
        raise LabelDataError(
            f"GS1-128: {characters} data characters; one symbol holds at most {MAX_DATA_CHARACTERS}"
        )
    codes, zpl = _encode(data)
    check = (codes[0] + sum(i * code for i, code in enumerate(codes[1:], start=1))) % 103
    return Gs1128(tuple(elements), (*codes, check, STOP), zpl)


def symbol_groups(
    elements: tuple[tuple[str, str], ...],
) -> list[tuple[tuple[tuple[str, str], ...], ...]]:
    """Ways to carry ``elements`` in GS1-128 symbols, best first: all in one symbol, then
    (when one would hold too much) the fixed-length elements in one and the
    variable-length ones (lot...) in a second, as GS1 logistic labels do."""
    fixed = tuple(pair for pair in elements if not separator_required(pair[0]))
    variable = tuple(pair for pair in elements if separator_required(pair[0]))
    groups: list[tuple[tuple[tuple[str, str], ...], ...]] = []
    if _characters(elements) <= MAX_DATA_CHARACTERS:
        groups.append((elements,))
    if fixed and variable:
        groups.append((fixed, variable))
    return groups


def _characters(elements: tuple[tuple[str, str], ...]) -> int:
    data = _stream(elements)
    return len(data.replace(_FNC1_MARK, "")) + data.count(_FNC1_MARK) - 1
