"""The GS1-128 encoder, read back by a real decoder (zxing-cpp), and its ZPL field data
read by an independent interpreter of Zebra's ^BC invocation codes.

Each symbol is drawn bar by bar from its modules and decoded: zxing must report a
GS1 symbol (``]C1``) whose element strings are exactly those encoded, with GS after
every variable-length element but the last. reportlab's Code 128 table is the
oracle for the bar patterns; a changed check character must make the symbol unreadable.
"""

from __future__ import annotations

import pytest
import zxingcpp
from PIL import Image
from reportlab.graphics.barcode.code128 import _patterns as reportlab_patterns

from labels import parse_scan
from labels.errors import LabelDataError
from labels.gs1_128 import QUIET_ZONE_MODULES, Gs1128, gs1_128, symbol_groups

GTIN = "09506000134352"

CASES = {
    "label": (("01", GTIN), ("17", "261231"), ("3103", "005000"), ("10", "L2311A")),
    "gtin-only": (("01", GTIN),),
    "digits-lot-then-weight": (("01", GTIN), ("10", "12345"), ("3102", "000150")),
    "even-digits-lot": (("01", GTIN), ("17", "270101"), ("10", "123456")),
    "lot-first": (("01", GTIN), ("10", "AB12"), ("17", "261231")),
    "specials": (("01", GTIN), ("3105", "012345"), ("10", "a_b-c.d/e:f;g<h=i>j?")),
    "greater-than": (("01", GTIN), ("10", ">>1>2")),
    "production-and-expiry": (("01", GTIN), ("11", "261101"), ("17", "261231"), ("10", "X")),
    "long-digit-run-in-lot": (("01", GTIN), ("10", "A1234567B")),
}


def draw(symbol: Gs1128, dots: int = 2, height: int = 80) -> Image.Image:
    """The symbol with its quiet zones, ``dots`` pixels a module, in greyscale."""
    modules = "0" * QUIET_ZONE_MODULES + symbol.modules() + "0" * QUIET_ZONE_MODULES
    row = bytes(0 if m == "1" else 255 for m in modules for _ in range(dots))
    return Image.frombytes("L", (len(row), height), row * height)


def reportlab_modules(codes: tuple[int, ...]) -> str:
    """Bars 1 and spaces 0 from reportlab's own Code 128 table (bars upper case)."""
    return "".join(
        ("1" if char.isupper() else "0") * (ord(char.lower()) - ord("a") + 1)
        for code in codes
        for char in reportlab_patterns[code]
    )


def zpl_values(field_data: str) -> list[int]:
    """Symbol characters a Zebra printer makes of ^BC field data (mode N), per the ZPL II
    guide's table of Code 128 invocation codes: >; start C, >: start B, >8 FNC1,
    >5 code C, >6 code B, >< a '>' in subset B; subset C takes digit pairs."""
    starts = {">:": ("B", 104), ">;": ("C", 105)}
    subset, start = starts[field_data[:2]]
    values, i = [start], 2
    while i < len(field_data):
        if field_data[i] == ">":
            code = field_data[i : i + 2]
            i += 2
            if code == ">8":
                values.append(102)
            elif code == ">5":
                values.append(99)
                subset = "C"
            elif code == ">6":
                values.append(100)
                subset = "B"
            elif code == "><" and subset == "B":
                values.append(ord(">") - 32)
            else:
                pytest.fail(f"unexpected invocation code {code!r} in subset {subset}")
        elif subset == "C":
            pair = field_data[i : i + 2]
            assert len(pair) == 2
            assert pair.isdigit(), f"subset C needs digit pairs, got {pair!r}"
            values.append(int(pair))
            i += 2
        else:
            assert field_data[i] not in "^~", "ZPL reserves ^ and ~"
            values.append(ord(field_data[i]) - 32)
            i += 1
    return values


@pytest.mark.parametrize("elements", CASES.values(), ids=CASES.keys())
def test_decoder_reads_every_element_string(elements: tuple[tuple[str, str], ...]) -> None:
    symbol = gs1_128(elements)
    results = zxingcpp.read_barcodes(draw(symbol))
    assert len(results) == 1
    result = results[0]
    assert result.format == zxingcpp.BarcodeFormat.Code128
    assert result.symbology_identifier == "]C1"  # FNC1 first: a GS1-128 symbol
    assert result.content_type == zxingcpp.ContentType.GS1
    assert result.text == "".join(f"({ai}){value}" for ai, value in elements) == symbol.hri
    assert result.bytes.decode() == symbol.transmitted
    if any(ai == "10" for ai, _ in elements):  # a lot's scan: parse_scan reads it back
        scanned = parse_scan("]C1" + result.bytes.decode())
        assert scanned.ais == elements


@pytest.mark.parametrize("elements", CASES.values(), ids=CASES.keys())
def test_patterns_and_check_character(elements: tuple[tuple[str, str], ...]) -> None:
    symbol = gs1_128(elements)
    assert symbol.modules() == reportlab_modules(symbol.codes)
    assert len(symbol.modules()) == symbol.width
    *body, check, stop = symbol.codes
    assert stop == 106
    assert check == (body[0] + sum(i * v for i, v in enumerate(body[1:], start=1))) % 103
    assert body[1] == 102  # FNC1 straight after the start character
    # Any other check character makes the symbol unreadable, never misread.
    for wrong in ((check + 1) % 103, (check + 50) % 103):
        broken = Gs1128(symbol.elements, (*body, wrong, stop), symbol.zpl)
        assert zxingcpp.read_barcodes(draw(broken)) == []


@pytest.mark.parametrize("elements", CASES.values(), ids=CASES.keys())
def test_zpl_field_data_is_the_same_symbol(elements: tuple[tuple[str, str], ...]) -> None:
    symbol = gs1_128(elements)
    assert zpl_values(symbol.zpl) == list(symbol.codes[:-2])
    assert symbol.zpl.startswith((">;>8", ">:>8"))


def test_digit_runs_use_code_set_c() -> None:
    symbol = gs1_128(CASES["label"])
    # 36 digits of (01)(17)(3103)(10) in 18 characters of set C, then "L2311A" in B:
    # start, FNC1, 18, code B, 6, check, stop.
    assert len(symbol.codes) == 1 + 1 + 18 + 1 + 6 + 1 + 1
    assert symbol.zpl == ">;>8010950600013435217261231310300500010>6L2311A"
    # A 7-digit run inside the lot is worth switching to C for; a 4-digit one is not.
    assert ">5" in gs1_128(CASES["long-digit-run-in-lot"]).zpl
    assert ">5" not in gs1_128((("01", GTIN), ("10", "A1234B"))).zpl


def test_separator_only_after_variable_length_elements() -> None:
    assert gs1_128(CASES["label"]).transmitted == "010950600013435217261231310300500010L2311A"
    assert gs1_128(CASES["lot-first"]).transmitted == "010950600013435210AB12\x1d17261231"


BAD = {
    "check-digit": ((("01", "09506000134353"),), "check digit"),
    "date": ((("01", GTIN), ("17", "261341")), "17"),
    "lot-too-long": ((("01", GTIN), ("10", "A" * 21)), "10"),
    "not-an-ai": ((("01", GTIN), ("2", "x")), r"\(2\)"),
    "short-gtin": ((("01", "9506000134352"),), "01"),
    "too-many-characters": (
        (("01", GTIN), ("17", "261231"), ("10", "A" * 20), ("21", "B" * 8)),
        "48",
    ),
    "empty": ((), "no element strings"),
}


@pytest.mark.parametrize(("elements", "message"), BAD.values(), ids=BAD.keys())
def test_bad_element_strings_are_refused(
    elements: tuple[tuple[str, str], ...], message: str
) -> None:
    with pytest.raises(LabelDataError, match=message):
        gs1_128(elements)


def test_an_overfull_symbol_splits_into_fixed_and_variable_elements() -> None:
    elements = (("01", GTIN), ("17", "261231"), ("3103", "005000"), ("10", "Z" * 20))
    groups = symbol_groups(elements)
    assert groups == [((("01", GTIN), ("17", "261231"), ("3103", "005000")), (("10", "Z" * 20),))]
    texts = [zxingcpp.read_barcodes(draw(gs1_128(group)))[0].text for group in groups[0]]
    assert texts == ["(01)09506000134352(17)261231(3103)005000", "(10)" + "Z" * 20]
    assert symbol_groups(CASES["label"])[0] == (CASES["label"],)
