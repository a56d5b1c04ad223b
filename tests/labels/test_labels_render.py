"""Labels rendered in every format and size, read back by a real decoder (zxing-cpp).

PNG labels are decoded as rendered; PDF pages are rasterised by poppler's
``pdftoppm`` first; ZPL cannot be printed here, so its QR field data is checked
and a symbol built with the same parameters is decoded instead. Stock at least
2.5 in high also carries a GS1-128 barcode, decoded alongside the QR code.
"""

from __future__ import annotations

import io
import math
import re
import shutil
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import qrcode
import zxingcpp
from biip import ParseConfig
from biip.gs1_messages import GS1Message
from PIL import Image, ImageChops

from labels import LabelData, parse_scan, render_pdf, render_png, render_zpl
from labels.errors import LabelDataError, LabelFontError
from labels.fonts import label_font, missing_glyphs
from labels.gs1_128 import gs1_128
from labels.layout import PNG_STOCKS
from labels.pdf import SHEETS
from labels.png import DPIS, MARGIN_IN
from labels.qr import qr_matrix
from labels.zpl import qr_field_data

GTIN = "09506000134352"
LONGEST_LOT = "Z9!\"%&'()*+,-./:;<=>?"[:20]  # 20 characters, most of them percent-encoded
LOTS = {
    "plain": "L2311A",
    "single": "7",
    "longest-specials": LONGEST_LOT,
    "specials-tail": "a_b-c.d/e:f;g<h=i>j?",
}
PRODUCTS = {
    "latin": "Romaine lettuce hearts, washed, 3 pack",
    "chinese": "有机生菜 (罗马生菜心) 三颗装",
    "long": "Extra virgin olive oil, cold pressed, first harvest, unfiltered "
    "有机特级初榨橄榄油 " * 3,
}


def make_label(lot: str, product: str, *, expiry: date | None = date(2026, 12, 31)) -> LabelData:
    return LabelData.for_lot(
        "https://id.example.com",
        gtin=GTIN,
        lot=lot,
        product=product,
        expiry=expiry,
        origin="Almería, ES",
        quantity="12",
        unit="kg",
        extra=("Keep at 0-4 °C",),
        net_weight_kg=Decimal("12.5"),
    )


#: Stock tall enough for a GS1-128 barcode under the QR code and text.
WITH_BARCODE = {"4x6", "4x3", "a4"}


def decode(image: Image.Image) -> list[str]:
    """The QR codes' texts."""
    return [
        barcode.text
        for barcode in zxingcpp.read_barcodes(image)
        if barcode.format == zxingcpp.BarcodeFormat.QRCode
    ]


def decode_gs1(image: Image.Image) -> list[tuple[str, str]]:
    """Every element string of the GS1-128 symbols, top to bottom, as (ai, value)."""
    found = [
        barcode
        for barcode in zxingcpp.read_barcodes(image)
        if barcode.format == zxingcpp.BarcodeFormat.Code128
    ]
    found.sort(key=lambda barcode: barcode.position.top_left.y)
    pairs: list[tuple[str, str]] = []
    for barcode in found:
        assert barcode.symbology_identifier == "]C1"
        pairs.extend(element_strings(barcode))
    return pairs


def element_strings(barcode: zxingcpp.Barcode) -> list[tuple[str, str]]:
    """What a GS1-128 scan transmits, parsed by biip: (ai, value) pairs."""
    message = GS1Message.parse(barcode.bytes.decode(), config=ParseConfig(separator_chars=["\x1d"]))
    return [(element.ai.ai, element.value) for element in message.element_strings]


def assert_scans_back(text: str, label: LabelData) -> None:
    assert text == label.uri
    scanned = parse_scan(text)
    assert (scanned.gtin, scanned.lot, scanned.expiry) == (label.gtin, label.lot, label.expiry)


# --- the QR encoder ----------------------------------------------------------------


QR_DATA = [
    "1",
    "12345678901234567890",
    "HTTPS://ID.EXAMPLE.COM/01/09506000134352",
    "https://id.example.com/01/09506000134352/10/L2311A?17=261231",
    "https://id.example.com/01/09506000134352/10/" + "%2F" * 20 + "?17=261231&3103=001500",
    "生菜 mixed 123 ABC " * 8,
    "x" * 600,
]


@pytest.mark.parametrize("data", QR_DATA, ids=range(len(QR_DATA)))
def test_qr_matrix_matches_qrcode(data: str) -> None:
    """The fast mask search lays out the exact symbol qrcode's own make() does."""
    reference = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_Q, border=0)
    reference.add_data(data)
    reference.make(fit=True)
    matrix = qr_matrix(data)
    assert matrix.version == reference.version
    assert matrix.to_lists() == reference.get_matrix()


# --- PNG -------------------------------------------------------------------------


@pytest.mark.parametrize("size", sorted(PNG_STOCKS), ids=str)
@pytest.mark.parametrize("dpi", DPIS, ids=lambda d: f"{d}dpi")
@pytest.mark.parametrize("lot", LOTS.values(), ids=LOTS.keys())
@pytest.mark.parametrize("product", PRODUCTS.values(), ids=PRODUCTS.keys())
def test_png_decodes_to_digital_link(product: str, lot: str, dpi: int, size: str) -> None:
    label = make_label(lot, product)
    png = render_png(label, dpi=dpi, size=size)
    image = Image.open(io.BytesIO(png))
    width_in, height_in = PNG_STOCKS[size]
    assert image.format == "PNG"
    assert image.mode == "1"
    assert image.size == (round(width_in * dpi), round(height_in * dpi))
    assert image.info["dpi"] == pytest.approx((dpi, dpi), abs=0.01)
    decoded = decode(image)
    assert len(decoded) == 1
    assert_scans_back(decoded[0], label)
    assert decode_gs1(image) == (list(label.element_strings()) if size in WITH_BARCODE else [])
    # Nothing is drawn in the margin: text shrank or wrapped instead of overflowing.
    margin = round(MARGIN_IN * dpi)
    ink = ImageChops.invert(image.convert("L")).getbbox()
    assert ink is not None
    left, top, right, bottom = ink
    assert left >= margin
    assert top >= margin
    assert right <= image.width - margin
    assert bottom <= image.height - margin


@pytest.mark.parametrize("dpi", DPIS, ids=lambda d: f"{d}dpi")
def test_png_modules_are_whole_dots_with_quiet_zone(dpi: int) -> None:
    label = make_label(LONGEST_LOT, PRODUCTS["latin"])
    image = Image.open(io.BytesIO(render_png(label, dpi=dpi, size="4x6")))
    matrix = qr_matrix(label.uri)
    (qr,) = (b for b in zxingcpp.read_barcodes(image) if b.format == zxingcpp.BarcodeFormat.QRCode)
    corners = qr.position
    # Exact extent of the dark modules near where the decoder found the symbol.
    near = (
        corners.top_left.x - 8,
        corners.top_left.y - 8,
        corners.bottom_right.x + 8,
        corners.bottom_right.y + 8,
    )
    ink = ImageChops.invert(image.crop(near).convert("L")).getbbox()
    assert ink is not None
    left, top = near[0] + ink[0], near[1] + ink[1]
    side = ink[2] - ink[0]
    assert side == ink[3] - ink[1]
    dots, remainder = divmod(side, matrix.size)
    assert remainder == 0
    assert dots >= 2
    # 4 light modules on every side of the symbol
    quiet = 4 * dots
    frame = ImageChops.invert(
        image.crop((left - quiet, top - quiet, left + side + quiet, top + side + quiet)).convert(
            "L"
        )
    )
    frame.paste(0, (quiet, quiet, quiet + side, quiet + side))
    assert frame.getbbox() is None


def test_png_custom_size_and_errors() -> None:
    label = make_label("L1", PRODUCTS["latin"])
    image = Image.open(io.BytesIO(render_png(label, dpi=203, size=(3.0, 2.0))))
    assert image.size == (609, 406)
    assert decode(image) == [label.uri]
    with pytest.raises(LabelDataError, match="dpi 600"):
        render_png(label, dpi=600)
    with pytest.raises(LabelDataError, match="label size '2x1'"):
        render_png(label, size="2x1")


# --- PDF -------------------------------------------------------------------------


def rasterise(pdf: bytes, tmp_path: Path, dpi: int = 300) -> list[Image.Image]:
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        pytest.fail("pdftoppm not found: install the Debian package poppler-utils")
    source = tmp_path / "labels.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        [pdftoppm, "-r", str(dpi), "-png", str(source), str(tmp_path / "page")],
        check=True,
        timeout=120,
    )
    pages = sorted(tmp_path.glob("page-*.png"))
    return [Image.open(page) for page in pages]


@pytest.mark.parametrize("stock", sorted(SHEETS), ids=str)
def test_pdf_pages_decode_to_digital_links(stock: str, tmp_path: Path) -> None:
    sheet = SHEETS[stock]
    per_page = sheet.columns * sheet.rows
    lots = list(LOTS.values())
    products = list(PRODUCTS.values())
    count = per_page + 1 if per_page > 1 else 3  # a full page and one more
    labels = [
        make_label(f"{lots[i % len(lots)][:17]}{i:03d}", products[i % len(products)])
        for i in range(count)
    ]
    pdf = render_pdf(labels, stock=stock)
    assert pdf.startswith(b"%PDF-")
    assert b"/FontFile2" in pdf  # the TrueType label font is embedded
    pages = rasterise(pdf, tmp_path)
    assert len(pages) == math.ceil(count / per_page)
    decoded: list[str] = []
    elements: list[tuple[str, str]] = []
    for page in pages:
        decoded.extend(decode(page))
        elements.extend(decode_gs1(page))
    assert sorted(decoded) == sorted(label.uri for label in labels)
    expected = [pair for label in labels for pair in label.element_strings()]
    assert sorted(elements) == (sorted(expected) if stock in WITH_BARCODE else [])
    for label in labels:
        assert_scans_back(label.uri, label)


def test_pdf_rejects_bad_input() -> None:
    with pytest.raises(LabelDataError, match="stock 'a5'"):
        render_pdf([make_label("L1", "x")], stock="a5")
    with pytest.raises(LabelDataError, match="no labels"):
        render_pdf([], stock="a4")


# --- ZPL -------------------------------------------------------------------------


@pytest.mark.parametrize("size", sorted(PNG_STOCKS), ids=str)
@pytest.mark.parametrize("dpi", DPIS, ids=lambda d: f"{d}dpi")
@pytest.mark.parametrize("lot", LOTS.values(), ids=LOTS.keys())
def test_zpl_qr_field_is_the_digital_link(lot: str, dpi: int, size: str) -> None:
    label = make_label(lot, PRODUCTS["latin"])
    zpl = render_zpl(label, dpi=dpi, size=size)
    assert zpl.startswith("^XA\n^CI28\n")
    assert zpl.rstrip().endswith("^XZ")
    fields = re.findall(r"\^BQN,2,(\d+),Q\^FD(.*?)\^FS", zpl)
    assert len(fields) == 1
    magnification, data = int(fields[0][0]), fields[0][1]
    assert data == "QA," + label.uri == qr_field_data(label.uri)
    assert 1 <= magnification <= 10
    # What the printer will draw: model 2, level Q, the same URI, at that module size.
    symbol = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_Q, box_size=magnification, border=4
    )
    symbol.add_data(label.uri)
    symbol.make(fit=True)
    image = symbol.make_image().get_image()
    assert decode(image) == [label.uri]
    # every field starts inside the label
    width, height = round(PNG_STOCKS[size][0] * dpi), round(PNG_STOCKS[size][1] * dpi)
    for x, y in re.findall(r"\^FO(\d+),(\d+)", zpl):
        assert 0 <= int(x) < width
        assert 0 <= int(y) < height
    # GS1-128 on stock tall enough: ^BC with the encoder's code sets and FNC1, whole
    # bars inside the label with 10 modules of quiet zone each side.
    bars = re.findall(r"\^FO(\d+),(\d+)\^BY(\d+)\^BCN,(\d+),N,N,N\^FD(.*?)\^FS", zpl)
    if size not in WITH_BARCODE:
        assert bars == []
        return
    symbols = [gs1_128(group) for group in _groups(label)]
    assert [data for *_, data in bars] == [symbol.zpl for symbol in symbols]
    margin = round(MARGIN_IN * dpi)
    for (x, y, module, bar_height, _), symbol in zip(bars, symbols, strict=True):
        assert int(module) >= 2
        assert int(x) - 10 * int(module) >= margin
        assert int(x) + (symbol.width + 10) * int(module) <= width - margin
        assert int(y) + int(bar_height) <= height - margin
        assert int(bar_height) >= dpi // 4


def _groups(label: LabelData) -> list[tuple[tuple[str, str], ...]]:
    """The element strings of each GS1-128 symbol, as the PNG decodes them."""
    image = Image.open(io.BytesIO(render_png(label, dpi=203, size="4x6")))
    found = sorted(
        (b for b in zxingcpp.read_barcodes(image) if b.format == zxingcpp.BarcodeFormat.Code128),
        key=lambda b: b.position.top_left.y,
    )
    return [tuple(element_strings(b)) for b in found]


def test_zpl_text_is_escaped_and_needs_a_unicode_font_for_chinese() -> None:
    label = make_label("L_1", "生菜 ^~ lettuce")
    with pytest.raises(LabelFontError, match=r"生菜.*TrueType font stored on the printer"):
        render_zpl(label)
    zpl = render_zpl(label, unicode_font="E:SIMSUN.TTF")
    assert "^A@N," in zpl
    assert "E:SIMSUN.TTF" in zpl
    assert "^FH^FD生菜 _5E_7E lettuce^FS" in zpl
    assert "^FH^FDL_5F1^FS" in zpl  # "_" is ^FH's escape character, so it is escaped
    hri = re.findall(r"\^FH\^FD(\(\d+\)[^^]*)\^FS", zpl)  # under the bars, one per element
    assert hri == ["(01)09506000134352", "(17)261231", "(3103)012500", "(10)L_5F1"]
    assert "^FDLOT L_5F1^FS" in render_zpl(label, size="4x3", unicode_font="E:SIMSUN.TTF")


# --- fonts and glyphs --------------------------------------------------------------


def test_chinese_is_drawn_with_real_glyphs() -> None:
    font = label_font()
    assert missing_glyphs(font, "生菜有机罗马") == ""
    pil = font.pil(64)

    def bitmap(char: str) -> bytes:
        image = Image.new("L", (80, 80), 0)
        from PIL import ImageDraw  # noqa: PLC0415

        ImageDraw.Draw(image).text((0, 0), char, font=pil, fill=255)
        return image.tobytes()

    tofu = bitmap("\ue000")  # private use: no glyph, FreeType draws .notdef
    assert missing_glyphs(font, "\ue000") == "\ue000"
    glyphs = {char: bitmap(char) for char in "生菜"}
    assert glyphs["生"] != tofu
    assert glyphs["菜"] != tofu
    assert glyphs["生"] != glyphs["菜"]
    assert any(glyphs["生"])


def test_text_without_glyphs_is_refused_not_printed_as_tofu() -> None:
    label = make_label("L1", "Lettuce \ue000")
    with pytest.raises(LabelFontError, match="no glyphs"):
        render_png(label)
    with pytest.raises(LabelFontError, match="no glyphs"):
        render_pdf([label], stock="a4")


# --- label data ----------------------------------------------------------------


def test_label_uri_must_agree_with_text() -> None:
    good = make_label("L1", "Lettuce")
    with pytest.raises(LabelDataError, match="encodes GTIN/lot/expiry"):
        LabelData(
            uri=good.uri.replace("/10/L1", "/10/L2"),
            gtin=good.gtin,
            lot="L1",
            product="Lettuce",
            expiry=good.expiry,
            origin="",
            quantity="1",
            unit="kg",
        )
    with pytest.raises(LabelDataError, match="encodes GTIN/lot/expiry"):
        LabelData(
            uri=good.uri,
            gtin=good.gtin,
            lot="L1",
            product="Lettuce",
            expiry=date(2030, 1, 1),
            origin="",
            quantity="1",
            unit="kg",
        )
    with pytest.raises(LabelDataError, match="net weight"):
        LabelData(
            uri=good.uri,
            gtin=good.gtin,
            lot="L1",
            product="Lettuce",
            expiry=good.expiry,
            origin="",
            quantity="1",
            unit="kg",
            net_weight_kg=Decimal("12.4"),
        )
    with pytest.raises(LabelDataError, match="not a GS1 Digital Link"):
        LabelData(
            uri="(01)09506000134352(10)L1",
            gtin=GTIN,
            lot="L1",
            product="Lettuce",
            expiry=None,
            origin="",
            quantity="1",
            unit="kg",
        )
