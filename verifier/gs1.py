"""GS1 identifier checks: GTIN, GLN and batch/lot numbers.

Pure functions over text, standard library only, so the ledger, the labels and a
regulator's verifier agree on what a valid identifier is. Each ``validate_*``
returns the normalised identifier or raises :class:`IdentifierError` naming the
identifier, the offending value and what is wrong with it.

References: GS1 General Specifications, section 7.9 (check digit calculation),
section 3.4.1 / AI (10) BATCH/LOT, figure 7.11-1 (GS1 AI encodable character
set 82).
"""

from __future__ import annotations

import re
import string

from verifier.errors import EncodingError

__all__ = [
    "CSET82",
    "GTIN_LENGTHS",
    "LOT_MAX_LENGTH",
    "IdentifierError",
    "check_digit",
    "is_gln",
    "is_gtin",
    "is_lot",
    "validate_gln",
    "validate_gtin",
    "validate_lot",
]


class IdentifierError(EncodingError, ValueError):
    """A GS1 identifier (GTIN, GLN, lot, ...) that is malformed.

    A ``ValueError`` as well, so callers that only know "bad value" still catch it.
    """


#: GS1 AI encodable character set 82 (General Specifications figure 7.11-1):
#: digits, upper and lower case Latin letters and these 20 symbols.
CSET82 = frozenset(string.digits + string.ascii_letters + "!\"%&'()*+,-./:;<=>?_")
GTIN_LENGTHS = (8, 12, 13, 14)
GLN_LENGTH = 13
LOT_MAX_LENGTH = 20


def check_digit(payload: str) -> int:
    """The GS1 mod-10 check digit for ``payload`` (the digits before the check digit).

    Weights alternate 3, 1, 3, ... starting from the rightmost payload digit, which
    makes the same function right for GTIN-8/12/13/14, GLN and SSCC.
    """
    if not payload or not payload.isascii() or not payload.isdigit():
        raise IdentifierError(f"check digit payload {payload!r}: expected digits only")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(payload)))
    return (10 - total % 10) % 10


def _digits(kind: str, text: str, lengths: tuple[int, ...]) -> str:
    if not isinstance(text, str):
        raise IdentifierError(f"{kind} {text!r}: expected a string, got {type(text).__name__}")
    wanted = " or ".join(str(n) for n in lengths)
    if not text:
        raise IdentifierError(f"{kind} is empty: expected {wanted} digits")
    if not (text.isascii() and text.isdigit()):
        bad = next(c for c in text if not (c.isascii() and c.isdigit()))
        raise IdentifierError(f"{kind} {text!r}: {bad!r} is not a digit")
    if len(text) not in lengths:
        raise IdentifierError(f"{kind} {text}: {len(text)} digits, expected {wanted}")
    expected = check_digit(text[:-1])
    if int(text[-1]) != expected:
        raise IdentifierError(f"{kind} {text}: check digit should be {expected}")
    return text


def validate_gtin(text: str) -> str:
    """Check a GTIN-8, -12 (UPC-A), -13 or -14 and return it as 14 digits.

    Shorter GTINs are left-padded with zeros, which keeps the check digit valid
    (the weights are anchored at the right).
    """
    return _digits("GTIN", text, GTIN_LENGTHS).zfill(14)


_LOT_PATTERN = re.compile(f"[{re.escape(''.join(sorted(CSET82)))}]{{1,{LOT_MAX_LENGTH}}}")


def validate_gln(text: str) -> str:
    """Check a 13-digit Global Location Number and return it."""
    return _digits("GLN", text, (GLN_LENGTH,))


def validate_lot(text: str) -> str:
    """Check a batch/lot number for AI (10): 1 to 20 characters of set 82."""
    if isinstance(text, str) and _LOT_PATTERN.fullmatch(text):
        return text  # the common case, without the per-character walk below
    if not isinstance(text, str):
        raise IdentifierError(f"lot {text!r}: expected a string, got {type(text).__name__}")
    if not text:
        raise IdentifierError("lot is empty: expected 1 to 20 characters")
    if len(text) > LOT_MAX_LENGTH:
        raise IdentifierError(
            f"lot {text!r}: {len(text)} characters, at most {LOT_MAX_LENGTH} allowed"
        )
    for position, char in enumerate(text, start=1):
        if char not in CSET82:
            raise IdentifierError(
                f"lot {text!r}: character {char!r} at position {position} is not in "
                "GS1 character set 82 (A-Z a-z 0-9 and !\"%&'()*+,-./:;<=>?_)"
            )
    return text


def is_gtin(text: str) -> bool:
    """True if ``text`` is a valid GTIN-8/12/13/14."""
    try:
        validate_gtin(text)
    except IdentifierError:
        return False
    return True


def is_gln(text: str) -> bool:
    """True if ``text`` is a valid GLN."""
    try:
        validate_gln(text)
    except IdentifierError:
        return False
    return True


def is_lot(text: str) -> bool:
    """True if ``text`` is a valid AI (10) batch/lot number."""
    try:
        validate_lot(text)
    except IdentifierError:
        return False
    return True
