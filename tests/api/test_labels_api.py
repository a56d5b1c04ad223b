"""Label endpoints and ``lotledger labels`` over a real ledger: every label is decoded by a
real QR decoder (zxing-cpp; PDFs rasterised by poppler's pdftoppm) back to the lot's exact
GS1 Digital Link URI, which ``parse_scan`` maps back to the lot."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from api.app import create_app
from api.cli import main
from api.labelling import RESOLVER_BASE_ENV
from labels import parse_scan
from labels.zpl import qr_field_data
from ledger import Ledger, Settings
from tests.api_fixtures import ApiClient, Keys, make_keys
from tests.conftest import LETTUCE, TOMATO, Events

LOT = "L2311/A"
BASE = "http://lotledger.test"
URI = f"{BASE}/01/{LETTUCE}/10/L2311%2FA?17=301231"
PATH = f"/v1/lots/{LETTUCE}/L2311%2FA"


@pytest.fixture
def env(world: Ledger, ev: Events) -> Iterator[tuple[ApiClient, Keys, Ledger]]:
    keys = make_keys(world)
    world.append(
        [
            ev.register(LOT, "100", expiry="2030-12-31"),
            ev.register("T-9", "5", gtin=TOMATO, expiry="2031-01-15"),
            ev.register("NOEXP", "5", gtin=TOMATO),
        ],
        actor="farm",
    )
    client = ApiClient(create_app(world))
    try:
        yield client, keys, world
    finally:
        client.close()


QR = zxingcpp.BarcodeFormat.QRCode
CODE128 = zxingcpp.BarcodeFormat.Code128


def decode_png(data: bytes) -> list[str]:
    """The QR codes' texts."""
    return [b.text for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(data))) if b.format == QR]


def decode_gs1_128(image: Image.Image) -> list[str]:
    """What each GS1-128 symbol transmits, with its symbology identifier (]C1)."""
    return [
        b.symbology_identifier + b.bytes.decode()
        for b in zxingcpp.read_barcodes(image)
        if b.format == CODE128
    ]


def decode_pdf(data: bytes, tmp_path: Path) -> list[list[str]]:
    """The QR texts of each page of a PDF, in page order."""
    pdf = tmp_path / "labels.pdf"
    pdf.write_bytes(data)
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    assert pages
    return [
        [b.text for b in zxingcpp.read_barcodes(Image.open(p)) if b.format == QR] for p in pages
    ]


def assert_lot(text: str, gtin: str, lot: str, expiry: date | None) -> None:
    scanned = parse_scan(text)
    assert (scanned.gtin, scanned.lot, scanned.expiry) == (gtin, lot, expiry)


@pytest.mark.parametrize(("dpi", "size"), [(203, "4x6"), (300, "4x3"), (203, "4x2")])
def test_png_label(env: tuple[ApiClient, Keys, Ledger], dpi: int, size: str) -> None:
    client, keys, _ = env
    r = client.get(f"{PATH}/label.png", params={"dpi": dpi, "size": size}, key=keys.farm)
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    assert r.headers["content-disposition"] == f'inline; filename="{LETTUCE}-L2311_A.png"'
    image = Image.open(io.BytesIO(r.content))
    width, height = (float(n) for n in size.split("x"))
    assert image.size == (round(width * dpi), round(height * dpi))
    assert decode_png(r.content) == [URI]
    assert_lot(URI, LETTUCE, LOT, date(2030, 12, 31))


@pytest.mark.parametrize("stock", ["4x6", "a4", "letter"])
def test_pdf_label(env: tuple[ApiClient, Keys, Ledger], tmp_path: Path, stock: str) -> None:
    client, keys, _ = env
    r = client.get(f"{PATH}/label.pdf", params={"stock": stock}, key=keys.regulator)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")
    assert decode_pdf(r.content, tmp_path) == [[URI]]


def test_zpl_label(env: tuple[ApiClient, Keys, Ledger]) -> None:
    client, keys, _ = env
    r = client.get(f"{PATH}/label.zpl", params={"dpi": 300}, key=keys.farm)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    zpl = r.text
    assert zpl.startswith("^XA")
    assert zpl.rstrip().endswith("^XZ")
    # No ZPL printer here: the QR field must carry exactly the URI (see test_labels_render).
    assert qr_field_data(URI) in zpl


def test_resolver_base_setting(
    env: tuple[ApiClient, Keys, Ledger], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, keys, _ = env
    monkeypatch.setenv(RESOLVER_BASE_ENV, "https://id.example.com")
    r = client.get(f"/v1/lots/{TOMATO}/T-9/label.png", key=keys.farm)
    assert decode_png(r.content) == [f"https://id.example.com/01/{TOMATO}/10/T-9?17=310115"]


def test_sheet(env: tuple[ApiClient, Keys, Ledger], tmp_path: Path) -> None:
    client, keys, _ = env
    body = {
        "lots": [
            {"gtin": LETTUCE, "lot": LOT},
            f"{TOMATO}/T-9",
            f"https://elsewhere.example/01/{TOMATO}/10/NOEXP",
        ],
        "stock": "4x6",
    }
    r = client.post("/v1/labels/sheet", json=body, key=keys.farm)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert decode_pdf(r.content, tmp_path) == [
        [URI],
        [f"{BASE}/01/{TOMATO}/10/T-9?17=310115"],
        [f"{BASE}/01/{TOMATO}/10/NOEXP"],
    ]


def test_sheet_a4_holds_several(env: tuple[ApiClient, Keys, Ledger], tmp_path: Path) -> None:
    client, keys, _ = env
    body = {"lots": [f"{TOMATO}/T-9", f"{TOMATO}/NOEXP"], "stock": "a4"}
    r = client.post("/v1/labels/sheet", json=body, key=keys.admin)
    assert r.status_code == 200
    (page,) = decode_pdf(r.content, tmp_path)
    assert sorted(page) == [f"{BASE}/01/{TOMATO}/10/NOEXP", f"{BASE}/01/{TOMATO}/10/T-9?17=310115"]


def test_errors(env: tuple[ApiClient, Keys, Ledger]) -> None:
    client, keys, _ = env
    r = client.get(f"/v1/lots/09506000134353/{LOT}/label.png", key=keys.farm)
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == "https://lotledger.dev/problems/invalid-identifier"
    assert "check digit" in r.json()["detail"]
    r = client.get(f"/v1/lots/{LETTUCE}/NOPE/label.pdf", key=keys.farm)
    assert r.status_code == 404
    assert r.json()["type"] == "https://lotledger.dev/problems/not-found"
    # Another organisation's lot does not exist for this key.
    r = client.get(f"{PATH}/label.zpl", key=keys.store)
    assert r.status_code == 404
    r = client.get(f"{PATH}/label.png")
    assert r.status_code == 401
    r = client.get(f"{PATH}/label.png", params={"dpi": 600}, key=keys.farm)
    assert r.status_code == 422
    r = client.get(f"{PATH}/label.pdf", params={"stock": "a3"}, key=keys.farm)
    assert r.status_code == 422
    r = client.post(
        "/v1/labels/sheet", json={"lots": [f"{TOMATO}/T-9", f"{TOMATO}/NOPE"]}, key=keys.farm
    )
    assert r.status_code == 404
    assert r.json()["index"] == 1
    assert r.json()["detail"].startswith("lots[1]: ")
    r = client.post("/v1/labels/sheet", json={"lots": ["nonsense"]}, key=keys.farm)
    assert r.status_code == 400
    r = client.post("/v1/labels/sheet", json={"lots": []}, key=keys.farm)
    assert r.status_code == 422


# --- lotledger labels -----------------------------------------------------------------


def cli(settings: Settings, *args: str) -> int:
    return main(
        [
            "labels",
            "--data-dir",
            str(settings.data_dir),
            "--database-url",
            settings.database_url,
            "--resolver",
            "https://id.example.com",
            *args,
        ]
    )


@pytest.fixture
def many(world: Ledger, ev: Events) -> list[str]:
    codes = [f"B{n:03d}" for n in range(25)]
    world.append([ev.register(code, "1", expiry="2030-06-01") for code in codes], actor="farm")
    return codes


def test_cli_pdf_all(
    settings: Settings,
    many: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "out" / "all.pdf"
    out.parent.mkdir()
    assert cli(settings, "--all", "--stock", "4x6", "--out", str(out)) == 0
    captured = capsys.readouterr()
    assert '"labels": 25' in captured.out
    assert "labels [" in captured.err
    assert captured.err.rstrip().endswith("25/25")
    pages = decode_pdf(out.read_bytes(), tmp_path)
    expected = [[f"https://id.example.com/01/{LETTUCE}/10/{c}?17=300601"] for c in many]
    assert pages == expected


def test_cli_png_and_zpl(
    settings: Settings,
    many: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    listing = tmp_path / "lots.txt"
    listing.write_text(
        f"# two lots\n{LETTUCE}/B001\n\nhttps://id.example.com/01/{LETTUCE}/10/B002?17=300601\n"
    )
    out = tmp_path / "png"
    assert cli(settings, "--from-file", str(listing), "--format", "png", "--out", str(out)) == 0
    assert "labels [" not in capsys.readouterr().err  # a small batch draws no bar
    for code in ("B001", "B002"):
        png = (out / f"{LETTUCE}-{code}.png").read_bytes()
        assert decode_png(png) == [f"https://id.example.com/01/{LETTUCE}/10/{code}?17=300601"]
    zpl = tmp_path / "labels.zpl"
    args = ("--lot", f"{LETTUCE}/B003", "--lot", f"{LETTUCE}/B004", "--format", "zpl")
    assert cli(settings, *args, "--out", str(zpl)) == 0
    text = zpl.read_text()
    assert text.count("^XA") == 2
    assert qr_field_data(f"https://id.example.com/01/{LETTUCE}/10/B004?17=300601") in text


def test_cli_errors(
    settings: Settings, many: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "x.pdf")
    assert cli(settings, "--lot", f"{LETTUCE}/NOPE", "--out", out) == 1
    assert "does not exist" in capsys.readouterr().err
    assert cli(settings, "--lot", "nonsense", "--out", out) == 1
    assert "GTIN/LOT" in capsys.readouterr().err
    # A malformed GTIN is named in plain words, as the API's 400 names it.
    assert cli(settings, "--lot", "09506000134353/B001", "--out", out) == 1
    err = capsys.readouterr().err
    assert err.startswith("\nlotledger labels: ")
    assert "check digit" in err
    assert cli(settings, "--lot", f"{LETTUCE}/B001", "--stock", "a3", "--out", out) == 1
    assert "--stock" in capsys.readouterr().err
    assert not Path(out).exists()


def test_net_weight_from_product_master_data(
    env: tuple[ApiClient, Keys, Ledger], tmp_path: Path
) -> None:
    """An admin gives the product its net weight; every label of its lots then carries
    it as AI (3103) in the QR's Digital Link and in the GS1-128 barcode, and prints it."""
    client, keys, _ = env
    product = {"gtin": LETTUCE, "org_id": "farm", "description": "Romaine", "unit": "case"}
    r = client.post("/v1/products", json={**product, "net_weight_kg": "5.25"}, key=keys.admin)
    assert r.status_code == 201, r.text
    assert r.json()["net_weight_kg"] == "5.25"
    assert client.get(f"/v1/products/{LETTUCE}", key=keys.farm).json()["net_weight_kg"] == "5.25"
    uri = f"{URI}&3103=005250"
    png = client.get(f"{PATH}/label.png", key=keys.farm)
    assert decode_png(png.content) == [uri]
    scanned = parse_scan(uri)
    assert scanned.net_weight_kg == Decimal("5.25")
    (gs1,) = decode_gs1_128(Image.open(io.BytesIO(png.content)))
    assert gs1 == f"]C101{LETTUCE}173012313103005250" + "10L2311/A"
    from_barcode = parse_scan(gs1)
    assert (from_barcode.gtin, from_barcode.lot, from_barcode.expiry) == (
        LETTUCE,
        LOT,
        date(2030, 12, 31),
    )
    assert from_barcode.net_weight_kg == Decimal("5.25")
    pdf = client.get(f"{PATH}/label.pdf", key=keys.farm)
    (source := tmp_path / "label.pdf").write_bytes(pdf.content)
    subprocess.run(["pdftoppm", "-r", "300", "-png", str(source), str(tmp_path / "p")], check=True)
    (page,) = sorted(tmp_path.glob("p*.png"))
    assert decode_gs1_128(Image.open(page)) == [gs1]
    assert (
        "5.25 kg"
        in subprocess.run(
            ["pdftotext", str(source), "-"], check=True, capture_output=True, text=True
        ).stdout
    )
    zpl = client.get(f"{PATH}/label.zpl", key=keys.farm).text
    assert qr_field_data(uri) in zpl
    assert f"^FD>;>801{LETTUCE}173012313103005250" in zpl
    # A lot of a product without a net weight has none on its label.
    assert decode_png(client.get(f"/v1/lots/{TOMATO}/T-9/label.png", key=keys.farm).content) == [
        f"{BASE}/01/{TOMATO}/10/T-9?17=310115"
    ]


@pytest.mark.parametrize(
    ("weight", "message"),
    [
        ("1234567", "at most 6 digits"),
        ("0.000001", "at most 5 of them after the point"),
        ("0", "must not be zero"),
        ("05", "not a decimal quantity"),
    ],
)
def test_net_weight_that_ai_310n_cannot_carry(
    env: tuple[ApiClient, Keys, Ledger], weight: str, message: str
) -> None:
    client, keys, _ = env
    product = {"gtin": TOMATO, "org_id": "farm", "description": "Tomato", "unit": "case"}
    r = client.post("/v1/products", json={**product, "net_weight_kg": weight}, key=keys.admin)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert message in r.text
    assert "net_weight_kg" in r.text
    assert client.get(f"/v1/products/{TOMATO}", key=keys.admin).status_code == 404


def test_zpl_for_a_chinese_name_needs_a_printer_font(env: tuple[ApiClient, Keys, Ledger]) -> None:
    client, keys, world = env
    event = Events().register("CN-1", "5", gtin=TOMATO)
    world.append([{**event, "product": "有机番茄 5 kg"}], actor="farm")
    path = f"/v1/lots/{TOMATO}/CN-1/label.zpl"
    r = client.get(path, key=keys.farm)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert "有机番茄" in r.json()["detail"]
    assert "?font=E:SIMSUN.TTF" in r.json()["detail"]
    r = client.get(path, params={"font": "E:SIMSUN.TTF"}, key=keys.farm)
    assert r.status_code == 200
    assert "^A@N," in r.text
    assert "E:SIMSUN.TTF" in r.text
    assert "^FD有机番茄 5 kg^FS" in r.text
    r = client.get(path, params={"font": "E:SIM^SUN"}, key=keys.farm)
    assert r.status_code == 422  # no ZPL command can be smuggled in through the font name


def test_a_label_the_stock_cannot_hold_is_a_422(
    env: tuple[ApiClient, Keys, Ledger], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, keys, _ = env
    monkeypatch.setenv(RESOLVER_BASE_ENV, "https://id.example.com/" + "x" * 1500)
    r = client.get(f"{PATH}/label.png", params={"size": "4x2"}, key=keys.farm)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("label-error")
    assert "shorter resolver URL or a larger label" in r.json()["detail"]


def test_cli_zpl_with_a_printer_font(
    settings: Settings, world: Ledger, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    event = Events().register("CN-2", "5", gtin=TOMATO)
    world.append([{**event, "product": "有机番茄"}], actor="farm")
    out = tmp_path / "cn.zpl"
    args = ("--lot", f"{TOMATO}/CN-2", "--format", "zpl", "--out", str(out))
    assert cli(settings, *args) == 1
    assert "TrueType font stored on the printer" in capsys.readouterr().err
    assert not out.exists()
    assert cli(settings, *args, "--font", "E:SIMSUN.TTF") == 0
    assert "^A@N," in out.read_text()
    assert "^FD有机番茄^FS" in out.read_text()
