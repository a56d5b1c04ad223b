"""GS1 check digits and identifier validation (verifier.gs1)."""

from __future__ import annotations

import pytest

from verifier.errors import VerificationError
from verifier.gs1 import (
    CSET82,
    IdentifierError,
    check_digit,
    is_gln,
    is_gtin,
    is_lot,
    validate_gln,
    validate_gtin,
    validate_lot,
)

# Published GS1 examples: 09506000134352 (GS1 "Dal Giardino" GTIN-13 as GTIN-14),
# 4006381333931 (GS1 check digit calculator example), 012345678905 (UPC-A textbook
# example), 96385074 (GS1 GTIN-8 example).
VALID_GTINS = [
    ("09506000134352", "09506000134352"),
    ("9506000134352", "09506000134352"),
    ("4006381333931", "04006381333931"),
    ("012345678905", "00012345678905"),
    ("96385074", "00000096385074"),
    ("10012345678902", "10012345678902"),  # GTIN-14 with indicator digit 1
]


@pytest.mark.parametrize(("text", "gtin14"), VALID_GTINS, ids=[t for t, _ in VALID_GTINS])
def test_valid_gtin_normalises_to_14_digits(text: str, gtin14: str) -> None:
    assert validate_gtin(text) == gtin14
    assert is_gtin(text)
    assert validate_gtin(gtin14) == gtin14  # idempotent


CHECK_DIGITS = [
    ("0950600013435", 2),
    ("400638133393", 1),
    ("01234567890", 5),
    ("9638507", 4),
    ("950600013436", 9),
    ("1001234567890", 2),
]


@pytest.mark.parametrize(("payload", "digit"), CHECK_DIGITS, ids=[p for p, _ in CHECK_DIGITS])
def test_check_digit(payload: str, digit: int) -> None:
    assert check_digit(payload) == digit


INVALID_GTINS = [
    ("bad-check-digit", "09506000134353", "GTIN 09506000134353: check digit should be 2"),
    ("bad-check-upc", "012345678901", "check digit should be 5"),
    ("wrong-length-11", "01234567890", "11 digits, expected 8 or 12 or 13 or 14"),
    ("wrong-length-15", "109506000134352", "15 digits"),
    ("letters", "09506000I34352", "'I' is not a digit"),
    ("empty", "", "GTIN is empty"),
    ("spaces", "0950600013435 ", "' ' is not a digit"),
    ("fullwidth-digits", "０９５０６０００１３４３５２", "is not a digit"),
]


@pytest.mark.parametrize(
    ("text", "message"), [c[1:] for c in INVALID_GTINS], ids=[c[0] for c in INVALID_GTINS]
)
def test_invalid_gtin_rejected_with_reason(text: str, message: str) -> None:
    with pytest.raises(IdentifierError, match=message.replace("(", r"\(")) as info:
        validate_gtin(text)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, VerificationError)
    assert not is_gtin(text)


@pytest.mark.parametrize("gln", ["9506000134369", "4012345000009"], ids=["gs1-example", "de"])
def test_valid_gln(gln: str) -> None:
    assert validate_gln(gln) == gln
    assert is_gln(gln)


INVALID_GLNS = [
    ("bad-check", "9506000134368", "GLN 9506000134368: check digit should be 9"),
    ("gtin-14-length", "09506000134352", "14 digits, expected 13"),
    ("letters", "95060001343AB", "'A' is not a digit"),
]


@pytest.mark.parametrize(
    ("text", "message"), [c[1:] for c in INVALID_GLNS], ids=[c[0] for c in INVALID_GLNS]
)
def test_invalid_gln(text: str, message: str) -> None:
    with pytest.raises(IdentifierError, match=message):
        validate_gln(text)
    assert not is_gln(text)


def test_cset82_is_exactly_82_characters() -> None:
    symbols = "".join(sorted(c for c in CSET82 if not c.isalnum()))
    assert len(CSET82) == 82
    assert symbols == "!\"%&'()*+,-./:;<=>?_"


VALID_LOTS = [
    ("simple", "L2311A"),
    ("one-char", "7"),
    ("max-20", "ABCDEFGHIJ0123456789"),
    ("all-symbols", "!\"%&'()*+,-./:;<=>?"),
    ("symbols-20", "a_Z-9.!\"%&'()*+,/:;<"),
    ("lower", "lot-2024/11"),
]


@pytest.mark.parametrize("lot", [c[1] for c in VALID_LOTS], ids=[c[0] for c in VALID_LOTS])
def test_valid_lot(lot: str) -> None:
    assert validate_lot(lot) == lot
    assert is_lot(lot)


INVALID_LOTS = [
    ("too-long", "ABCDEFGHIJ01234567890", "21 characters, at most 20"),
    ("empty", "", "lot is empty"),
    ("space", "L 1", "' ' at position 2 is not in GS1 character set 82"),
    ("hash", "L#1", "'#' at position 2"),
    ("tilde", "L~", "'~' at position 2"),
    ("caret", "^L", "'\\^' at position 1"),
    ("non-ascii", "LÖT", "'Ö' at position 2"),
    ("chinese", "批次1", "'批' at position 1"),
    ("gs-separator", "L1\x1d17", "position 3"),
]


@pytest.mark.parametrize(
    ("text", "message"), [c[1:] for c in INVALID_LOTS], ids=[c[0] for c in INVALID_LOTS]
)
def test_invalid_lot(text: str, message: str) -> None:
    with pytest.raises(IdentifierError, match=message):
        validate_lot(text)
    assert not is_lot(text)


@pytest.mark.parametrize(
    "bad", [None, 9506000134352, b"09506000134352"], ids=["none", "int", "bytes"]
)
def test_non_string_rejected(bad: object) -> None:
    with pytest.raises(IdentifierError, match="expected a string"):
        validate_gtin(bad)  # type: ignore[arg-type]
    with pytest.raises(IdentifierError, match="expected a string"):
        validate_lot(bad)  # type: ignore[arg-type]


def test_every_single_digit_error_is_caught() -> None:
    """Mod-10 catches every single-digit substitution: mutate each digit of a valid GTIN."""
    valid = "09506000134352"
    for position in range(len(valid)):
        for digit in "0123456789":
            if digit == valid[position]:
                continue
            mutated = valid[:position] + digit + valid[position + 1 :]
            assert not is_gtin(mutated), mutated
