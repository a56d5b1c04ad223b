"""GS1 Digital Link URIs, scanned element strings and LGTIN EPC URNs (labels.digital_link)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import biip
import pytest

from labels.digital_link import (
    ScannedLot,
    from_lgtin_urn,
    lot_uri,
    net_weight_ai,
    parse_scan,
    to_lgtin_urn,
)
from labels.errors import LabelDataError, ScanError
from verifier.gs1 import CSET82, IdentifierError

GTIN = "09506000134352"
SYMBOLS = "".join(sorted(c for c in CSET82 if not c.isalnum()))


# --- building URIs ---------------------------------------------------------------

BUILD = [
    (
        "host-only",
        ("id.example.com", GTIN, "L2311A"),
        {"expiry": date(2026, 12, 31)},
        "https://id.example.com/01/09506000134352/10/L2311A?17=261231",
    ),
    (
        "gtin13-padded",
        ("id.example.com", "9506000134352", "L2311A"),
        {},
        "https://id.example.com/01/09506000134352/10/L2311A",
    ),
    (
        "gtin8-padded",
        ("id.example.com", "96385074", "A1"),
        {},
        "https://id.example.com/01/00000096385074/10/A1",
    ),
    (
        "base-with-prefix",
        ("https://example.com/dl/", GTIN, "ABC123"),
        {},
        "https://example.com/dl/01/09506000134352/10/ABC123",
    ),
    (
        "http-kept",
        ("http://localhost:8000", GTIN, "ABC123"),
        {},
        "http://localhost:8000/01/09506000134352/10/ABC123",
    ),
    (
        "slash-encoded",
        ("id.gs1.org", GTIN, "AB/12"),
        {},
        "https://id.gs1.org/01/09506000134352/10/AB%2F12",
    ),
    (
        "unreserved-kept",
        ("id.gs1.org", GTIN, "a-b.c_D"),
        {},
        "https://id.gs1.org/01/09506000134352/10/a-b.c_D",
    ),
    (
        "all-symbols",
        ("id.gs1.org", GTIN, "!\"%&'()*+,"),
        {},
        "https://id.gs1.org/01/09506000134352/10/%21%22%25%26%27%28%29%2A%2B%2C",
    ),
    (
        "more-symbols",
        ("id.gs1.org", GTIN, "/:;<=>?"),
        {},
        "https://id.gs1.org/01/09506000134352/10/%2F%3A%3B%3C%3D%3E%3F",
    ),
    (
        "weight",
        ("id.example.com", GTIN, "L1"),
        {"expiry": date(2027, 1, 5), "net_weight_kg": Decimal("1.5")},
        "https://id.example.com/01/09506000134352/10/L1?17=270105&3103=001500",
    ),
    (
        "extra-attributes",
        ("id.example.com", GTIN, "L1"),
        {"extra": {"15": "261130", "linkType": "gs1:pip"}},
        "https://id.example.com/01/09506000134352/10/L1?15=261130&linkType=gs1%3Apip",
    ),
]


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"), [c[1:] for c in BUILD], ids=[c[0] for c in BUILD]
)
def test_lot_uri(args: tuple[str, str, str], kwargs: dict[str, object], expected: str) -> None:
    uri = lot_uri(*args, **kwargs)  # type: ignore[arg-type]
    assert uri == expected
    # biip, an independent GS1 parser, reads back what was written.
    link = biip.parse(uri).gs1_digital_link_uri
    assert link is not None
    values = {es.ai.ai: es.value for es in link.element_strings}
    assert values["01"] == args[1].zfill(14)
    assert values["10"] == args[2]


WEIGHTS = [
    ("1.5", "3103", "001500"),
    ("12", "3103", "012000"),
    ("0.12345", "3105", "012345"),
    ("999.999", "3103", "999999"),
    ("1234.5", "3102", "123450"),
    ("12345.6", "3101", "123456"),
    ("999999", "3100", "999999"),
]


@pytest.mark.parametrize(("kg", "ai", "value"), WEIGHTS, ids=[w[0] for w in WEIGHTS])
def test_net_weight_ai_decimal_point(kg: str, ai: str, value: str) -> None:
    assert net_weight_ai(Decimal(kg)) == (ai, value)
    scanned = parse_scan(lot_uri("x.example", GTIN, "L1", net_weight_kg=Decimal(kg)))
    assert scanned.net_weight_kg == Decimal(kg)


@pytest.mark.parametrize(
    ("kg", "message"),
    [
        ("0.123456", "at most 5 decimals"),
        ("1000000", "too large"),
        ("-1", "negative"),
        ("NaN", "finite"),
    ],
    ids=["six-decimals", "too-large", "negative", "nan"],
)
def test_net_weight_rejected(kg: str, message: str) -> None:
    with pytest.raises(LabelDataError, match=message):
        net_weight_ai(Decimal(kg))


BAD_BUILDS = [
    (
        "bad-gtin",
        ("id.example.com", "09506000134353", "L1"),
        {},
        IdentifierError,
        "check digit should be 2",
    ),
    ("long-lot", ("id.example.com", GTIN, "A" * 21), {}, IdentifierError, "at most 20"),
    ("space-in-lot", ("id.example.com", GTIN, "L 1"), {}, IdentifierError, "set 82"),
    ("ftp-base", ("ftp://id.example.com", GTIN, "L1"), {}, LabelDataError, "http"),
    ("query-in-base", ("https://x.example/?a=1", GTIN, "L1"), {}, LabelDataError, "query"),
    (
        "lot-in-extra",
        ("x.example", GTIN, "L1"),
        {"extra": {"10": "L2"}},
        LabelDataError,
        "own argument",
    ),
    (
        "bad-ai-value",
        ("x.example", GTIN, "L1"),
        {"extra": {"15": "2611"}},
        LabelDataError,
        r"AI \(15\)",
    ),
]


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [c[1:] for c in BAD_BUILDS],
    ids=[c[0] for c in BAD_BUILDS],
)
def test_lot_uri_rejects(
    args: tuple[str, str, str], kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        lot_uri(*args, **kwargs)  # type: ignore[arg-type]


# --- scanning --------------------------------------------------------------------

# URIs in the forms the GS1 Digital Link standard shows: any host, optional path
# prefix, GTIN-13 written without its leading zero, attributes in the query.
STANDARD_FORMS = [
    (
        "id-gs1-org",
        "https://id.gs1.org/01/09506000134352/10/ABC123?17=251231",
        ("09506000134352", "ABC123", date(2025, 12, 31)),
    ),
    (
        "gtin13-in-path",
        "https://example.com/01/9506000134352/10/AB-123",
        ("09506000134352", "AB-123", None),
    ),
    (
        "path-prefix",
        "https://example.com/products/dl/01/09506000134352/10/AB%2F1?17=260600",
        ("09506000134352", "AB/1", date(2026, 6, 30)),
    ),
    (
        "extra-query",
        "https://brand.example/01/04006381333931/10/X1?linkType=gs1:pip&17=270101",
        ("04006381333931", "X1", date(2027, 1, 1)),
    ),
    (
        "upper-hex",
        "https://example.com/01/09506000134352/10/A%2Fb%3F",
        ("09506000134352", "A/b?", None),
    ),
    (
        "lower-hex",
        "https://example.com/01/09506000134352/10/A%2fb%3f",
        ("09506000134352", "A/b?", None),
    ),
    ("http", "http://example.com/01/09506000134352/10/L1", ("09506000134352", "L1", None)),
]


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in STANDARD_FORMS], ids=[c[0] for c in STANDARD_FORMS]
)
def test_parse_digital_link(text: str, expected: tuple[str, str, date | None]) -> None:
    scanned = parse_scan(text)
    assert (scanned.gtin, scanned.lot, scanned.expiry) == expected
    assert scanned.uri == text


ELEMENT_STRINGS = [
    ("hri", "(01)09506000134352(10)L2311A(17)261231"),
    ("hri-expiry-first", "(01)09506000134352(17)261231(10)L2311A"),
    ("hri-spaces", "(01) 09506000134352 (17) 261231 (10) L2311A"),
    ("raw-lot-last", "010950600013435217261231" + "10L2311A"),
    ("raw-gs-after-lot", "0109506000134352" + "10L2311A\x1d" + "17261231"),
    ("raw-leading-fnc1", "\x1d0109506000134352" + "10L2311A\x1d17261231"),
    ("gs1-128", "]C10109506000134352" + "10L2311A\x1d17261231"),
    ("gs1-datamatrix", "]d20109506000134352" + "17261231" + "10L2311A"),
    ("gs1-qr", "]Q30109506000134352" + "10L2311A\x1d17261231"),
    ("visible-gs-symbol", "0109506000134352" + "10L2311A\u241d17261231"),
    ("qr-uri", "]Q1https://id.example.com/01/09506000134352/10/L2311A?17=261231"),
    ("trailing-newline", "https://id.example.com/01/09506000134352/10/L2311A?17=261231\r\n"),
]


@pytest.mark.parametrize(
    "text", [c[1] for c in ELEMENT_STRINGS], ids=[c[0] for c in ELEMENT_STRINGS]
)
def test_parse_element_strings(text: str) -> None:
    scanned = parse_scan(text)
    assert (scanned.gtin, scanned.lot, scanned.expiry) == (GTIN, "L2311A", date(2026, 12, 31))
    assert scanned.get("17") == "261231"


def test_scan_keeps_symbology_and_all_ais() -> None:
    scanned = parse_scan("]C10109506000134352" + "10L1\x1d" + "3103001500\x1d" + "15261130")
    assert scanned == ScannedLot(
        gtin=GTIN,
        lot="L1",
        expiry=None,
        net_weight_kg=Decimal("1.500"),
        ais=(("01", GTIN), ("10", "L1"), ("3103", "001500"), ("15", "261130")),
        uri=None,
        symbology="]C1",
    )


def test_day_00_means_end_of_month() -> None:
    assert parse_scan("(01)09506000134352(10)L1(17)270200").expiry == date(2027, 2, 28)


ROUND_TRIP_LOTS = [
    "L2311A",
    "7",
    "ABCDEFGHIJ0123456789",
    SYMBOLS[:20],
    SYMBOLS[-20:],
    "a/b/c",
    "100%",
    "x?17=991231",
    "&10=EVIL",
    "lot+1",
]


@pytest.mark.parametrize("lot", ROUND_TRIP_LOTS, ids=range(len(ROUND_TRIP_LOTS)))
@pytest.mark.parametrize("expiry", [None, date(2026, 2, 28), date(2049, 12, 31)], ids=str)
def test_round_trip_build_parse(lot: str, expiry: date | None) -> None:
    uri = lot_uri("https://id.example.com/r", GTIN, lot, expiry=expiry)
    scanned = parse_scan(uri)
    assert (scanned.gtin, scanned.lot, scanned.expiry) == (GTIN, lot, expiry)
    # and biip's own reading agrees
    link = biip.parse(uri).gs1_digital_link_uri
    assert link is not None
    assert {es.ai.ai: es.value for es in link.element_strings}["10"] == lot


INVALID_SCANS = [
    ("empty", "", "empty"),
    ("whitespace", "   ", "empty"),
    ("garbage", "hello world", "not a GS1 barcode"),
    (
        "bad-check-digit",
        "https://x.example/01/09506000134353/10/L1",
        "GTIN 09506000134353: check digit should be 2",
    ),
    ("bad-check-raw", "(01)09506000134353(10)L1", "check digit should be 2"),
    ("no-lot", "https://x.example/01/09506000134352", r"no batch/lot \(AI 10\)"),
    ("no-lot-raw", "0109506000134352", "no batch/lot"),
    ("no-gtin", "(10)L1(17)261231", r"no GTIN \(AI 01\)"),
    ("sscc-uri", "https://x.example/00/106141412345678908", "no GTIN"),
    (
        "lot-too-long",
        "https://x.example/01/09506000134352/10/" + "A" * 21,
        "not a GS1 Digital Link",
    ),
    ("lot-bad-char", "https://x.example/01/09506000134352/10/A%20B", "not a GS1 Digital Link"),
    ("ftp", "ftp://x.example/01/09506000134352/10/L1", "http or https"),
    ("odd-path", "https://x.example/01/09506000134352/10", "not a GS1 Digital Link"),
    ("no-primary-key", "https://x.example/products/123", "not a GS1 Digital Link"),
    ("bad-date", "(01)09506000134352(10)L1(17)261331", "not a GS1 element string"),
    ("conflicting-lots", "(01)09506000134352(10)A1(10)B2", "repeats AI"),
    ("unknown-hri-ai", "(01)09506000134352(10)A1(999)1", "not a GS1 element string"),
]


@pytest.mark.parametrize(
    ("text", "message"), [c[1:] for c in INVALID_SCANS], ids=[c[0] for c in INVALID_SCANS]
)
def test_invalid_scan_rejected(text: str, message: str) -> None:
    with pytest.raises(ScanError, match=message) as info:
        parse_scan(text)
    assert isinstance(info.value, IdentifierError)
    assert isinstance(info.value, ValueError)


# --- EPC class URNs --------------------------------------------------------------

URNS = [
    ("prefix-7", GTIN, "L2311A", 7, "urn:epc:class:lgtin:9506000.013435.L2311A"),
    ("prefix-6", GTIN, "L1", 6, "urn:epc:class:lgtin:950600.0013435.L1"),
    ("prefix-12", GTIN, "L1", 12, "urn:epc:class:lgtin:950600013435.0.L1"),
    ("indicator-1", "10012345678902", "L1", 7, "urn:epc:class:lgtin:0012345.167890.L1"),
    (
        "tds-escapes",
        GTIN,
        'a/b%c&d"e<f>g?h',
        7,
        "urn:epc:class:lgtin:9506000.013435.a%2Fb%25c%26d%22e%3Cf%3Eg%3Fh",
    ),
    ("kept-symbols", GTIN, "!'()*+,-.:;=_", 7, "urn:epc:class:lgtin:9506000.013435.!'()*+,-.:;=_"),
    ("dots-in-lot", GTIN, "1.2.3", 7, "urn:epc:class:lgtin:9506000.013435.1.2.3"),
]


@pytest.mark.parametrize(
    ("gtin", "lot", "length", "urn"), [c[1:] for c in URNS], ids=[c[0] for c in URNS]
)
def test_lgtin_urn_round_trip(gtin: str, lot: str, length: int, urn: str) -> None:
    assert to_lgtin_urn(gtin, lot, length) == urn
    assert from_lgtin_urn(urn) == (gtin, lot)


@pytest.mark.parametrize("length", range(6, 13), ids=str)
def test_lgtin_every_prefix_length_round_trips(length: int) -> None:
    lot = SYMBOLS[:20]
    assert from_lgtin_urn(to_lgtin_urn(GTIN, lot, length)) == (GTIN, lot)


BAD_URNS = [
    ("other-class", "urn:epc:class:sgtin:9506000.013435.L1", "expected it to start with"),
    ("two-parts", "urn:epc:class:lgtin:9506000.013435", "expected <company prefix>"),
    ("short", "urn:epc:class:lgtin:9506000.01343.L1", "must total 13 digits, got 12"),
    ("prefix-5", "urn:epc:class:lgtin:95060.00134352.L1", "6 to 12"),
    ("letters", "urn:epc:class:lgtin:950600A.013435.L1", "must be digits"),
    ("raw-slash", "urn:epc:class:lgtin:9506000.013435.a/b", "must be written %2F"),
    ("unknown-escape", "urn:epc:class:lgtin:9506000.013435.a%20b", "escape %20"),
    ("space", "urn:epc:class:lgtin:9506000.013435.a b", "not allowed"),
    ("empty-lot", "urn:epc:class:lgtin:9506000.013435.", "lot is empty"),
]


@pytest.mark.parametrize(
    ("urn", "message"), [c[1:] for c in BAD_URNS], ids=[c[0] for c in BAD_URNS]
)
def test_bad_lgtin_urn(urn: str, message: str) -> None:
    with pytest.raises(IdentifierError, match=message):
        from_lgtin_urn(urn)


@pytest.mark.parametrize("length", [5, 13, True], ids=["5", "13", "bool"])
def test_lgtin_prefix_length_checked(length: int) -> None:
    with pytest.raises(IdentifierError, match="6 to 12"):
        to_lgtin_urn(GTIN, "L1", length)
