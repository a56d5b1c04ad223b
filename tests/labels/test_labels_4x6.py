"""The 4x6 thermal label, as a warehouse meets it: a real decoder (zxing-cpp) reads both
its QR code and its GS1-128 barcode, from the PNG at 203 and 300 dpi and from the PDF
rasterised by poppler's pdftoppm, and both carry every element string, net weight
(AI 310n) included, with the right values. The layout uses the label: the QR is
large, the bottom of the label carries the barcode, the name wraps on words.
"""

from __future__ import annotations

import io
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image, ImageChops

from labels import LabelData, parse_scan, render_pdf, render_png
from labels.design import compose
from labels.fonts import label_font
from labels.png import MARGIN_IN

GTIN = "09506000134352"
PRODUCT = "Romaine lettuce hearts, washed, 3 x 500 g"
QR = zxingcpp.BarcodeFormat.QRCode
CODE128 = zxingcpp.BarcodeFormat.Code128

WEIGHTS = {
    "whole-kg": (Decimal("5"), "3103", "005000"),
    "grams": (Decimal("0.75"), "3103", "000750"),
    "five-decimals": (Decimal("1.23456"), "3105", "123456"),
    "heavy": (Decimal("1234.5"), "3102", "123450"),
}


def make_label(weight: Decimal, lot: str = "L2311A") -> LabelData:
    return LabelData.for_lot(
        "https://id.example.com",
        gtin=GTIN,
        lot=lot,
        product=PRODUCT,
        expiry=date(2026, 12, 31),
        origin="Almería, ES",
        quantity="",
        unit="case",
        net_weight_kg=weight,
    )


def read(image: Image.Image) -> tuple[list[zxingcpp.Barcode], list[zxingcpp.Barcode]]:
    found = zxingcpp.read_barcodes(image)
    return [b for b in found if b.format == QR], [b for b in found if b.format == CODE128]


def assert_carries_everything(
    image: Image.Image, label: LabelData, ai: str, value: str, weight: Decimal
) -> None:
    (qr,), (gs1,) = read(image)
    from_qr = parse_scan(qr.text)
    assert qr.text == label.uri
    assert f"{ai}={value}" in qr.text.split("?")[1].split("&")
    assert gs1.symbology_identifier == "]C1"
    assert gs1.content_type == zxingcpp.ContentType.GS1
    assert gs1.text == f"(01){GTIN}(17)261231({ai}){value}(10){label.lot}"
    from_barcode = parse_scan(gs1.symbology_identifier + gs1.bytes.decode())
    for scanned in (from_qr, from_barcode):
        assert scanned.gtin == GTIN
        assert scanned.lot == label.lot
        assert scanned.expiry == date(2026, 12, 31)
        assert scanned.net_weight_kg == weight
        assert scanned.get(ai) == value
    assert dict(from_qr.ais) == dict(from_barcode.ais)


@pytest.mark.parametrize("dpi", [203, 300])
@pytest.mark.parametrize(("weight", "ai", "value"), WEIGHTS.values(), ids=WEIGHTS.keys())
def test_png_qr_and_gs1_128_carry_every_ai(dpi: int, weight: Decimal, ai: str, value: str) -> None:
    label = make_label(weight)
    image = Image.open(io.BytesIO(render_png(label, dpi=dpi, size="4x6")))
    assert image.size == (4 * dpi, 6 * dpi)
    assert_carries_everything(image, label, ai, value, weight)


@pytest.mark.parametrize(("weight", "ai", "value"), WEIGHTS.values(), ids=WEIGHTS.keys())
def test_pdf_qr_and_gs1_128_carry_every_ai(
    tmp_path: Path, weight: Decimal, ai: str, value: str
) -> None:
    label = make_label(weight)
    source = tmp_path / "label.pdf"
    source.write_bytes(render_pdf([label], stock="4x6"))
    # A 203 dpi thermal printer's resolution: the bars are whole dots of it.
    subprocess.run(
        ["pdftoppm", "-r", "203", "-png", str(source), str(tmp_path / "page")], check=True
    )
    (page,) = sorted(tmp_path.glob("page*.png"))
    assert_carries_everything(Image.open(page), label, ai, value, weight)
    text = subprocess.run(
        ["pdftotext", "-layout", str(source), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert label.net_weight in text
    assert "2026-12-31" in text
    assert f"(01){GTIN}(17)261231({ai}){value}(10)L2311A" in text


def test_a_long_lot_splits_the_barcode_in_two_and_keeps_every_ai() -> None:
    label = make_label(Decimal("12.5"), lot="LOT-2026-11-20/A1234")
    image = Image.open(io.BytesIO(render_png(label, dpi=203, size="4x6")))
    (qr,), symbols = read(image)
    assert len(symbols) == 2
    symbols.sort(key=lambda b: b.position.top_left.y)
    assert [b.text for b in symbols] == [
        f"(01){GTIN}(17)261231(3103)012500",
        "(10)LOT-2026-11-20/A1234",
    ]
    assert parse_scan(qr.text).lot == "LOT-2026-11-20/A1234"


@pytest.mark.parametrize("dpi", [203, 300])
def test_the_label_is_used_to_its_edges(dpi: int) -> None:
    """The complaint was a small QR and the bottom 40 % empty."""
    image = Image.open(io.BytesIO(render_png(make_label(Decimal("5")), dpi=dpi, size="4x6")))
    (qr,), (gs1,) = read(image)
    qr_side = qr.position.top_right.x - qr.position.top_left.x
    # 1.8 in of symbol, 2.2 in with its quiet zone: over half the label's width (the old
    # layout capped modules at 1 mm: 1.4 in).
    assert qr_side >= 1.75 * dpi
    ink = ImageChops.invert(image.convert("L"))
    bottom = ink.crop((0, int(image.height * 0.6), image.width, image.height))
    inked = sum(bottom.histogram()[1:]) / (bottom.width * bottom.height)
    assert inked > 0.12  # the barcode and its text fill the bottom
    bar_width = gs1.position.top_right.x - gs1.position.top_left.x
    assert bar_width >= 3.0 * dpi  # across the bottom
    assert gs1.position.top_left.y > qr.position.bottom_left.y
    margin = round(MARGIN_IN * dpi)
    left, top, right, lower = ink.getbbox() or (0, 0, 0, 0)
    assert (left, top) >= (margin, margin)
    assert right <= image.width - margin
    assert image.height - margin - 0.25 * dpi <= lower <= image.height - margin


def _lines(product: str, dpi: int = 203) -> list[tuple[float, str]]:
    font = label_font()

    def measure(text: str, size: float) -> float:
        return float(font.pil(max(1, round(size))).getlength(text))

    label = LabelData.for_lot(
        "https://id.example.com",
        gtin=GTIN,
        lot="L1",
        product=product,
        expiry=None,
        origin="",
        quantity="",
        unit="case",
    )
    design = compose(
        label,
        width=4 * dpi,
        height=6 * dpi,
        per_inch=dpi,
        margin=round(0.1 * dpi),
        measure=measure,
        whole_dots=True,
    )
    name_size = design.texts[0].size
    return [(t.size, t.text) for t in design.texts if t.size == name_size and t.y < dpi]


NAMES = [
    "Organic romaine lettuce hearts, washed and trimmed, 3 x 500 g",
    "Extra virgin olive oil cold pressed first harvest 1,5 l",
    "Jasmine rice premium long grain fragrant 10 kg",
    "Cherry tomatoes on the vine sweet and juicy 12 x 250 g punnets",
]


@pytest.mark.parametrize("name", NAMES)
def test_the_name_wraps_on_words_and_never_splits_a_quantity(name: str) -> None:
    lines = [text for _, text in _lines(name)]
    assert 1 <= len(lines) <= 2
    joined = " ".join(lines)
    assert joined == name
    for quantity in ("3 x 500 g", "1,5 l", "10 kg", "12 x 250 g"):
        if quantity in name:
            assert any(quantity in line for line in lines), lines


def test_a_name_too_long_is_shrunk_then_cut_at_a_word_with_an_ellipsis() -> None:
    name = "Mixed salad leaves with rocket, lamb's lettuce and red chard " * 4
    lines = _lines(name)
    assert len(lines) == 2
    (size, first), (_, second) = lines
    assert second.endswith("…")
    words = name.split()
    kept = (first + " " + second[:-1]).split()
    assert kept == words[: len(kept)]  # whole words, in order, then the ellipsis
    base = 24 * 203 / 72  # 24 pt
    assert 0.6 * base <= size < base  # shrunk a little, never to unreadable
