"""Quantities travel as normalized decimal strings and are stored as integer micro-units.

"120.5", never 120.5: every implementation in every language must produce the
same canonical bytes. At most six fractional digits; stored as ``value * 10**6``
in a 64-bit integer, so sums in SQL are exact.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache

SCALE = 10**6
MAX_MICRO = 2**63 - 1
_DECIMAL = re.compile(r"-?(0|[1-9][0-9]{0,12})(\.[0-9]{1,6})?")


def parse_decimal(text: str, *, signed: bool = False) -> int:
    """Micro-units of a decimal string; raise ValueError with the reason otherwise."""
    if not isinstance(text, str):
        raise ValueError('must be a decimal string such as "120.5", not a JSON number')
    if type(text) is not str:  # a subclass: not remembered, its repr may differ
        return _parse.__wrapped__(text, signed)
    return _parse(text, signed)


# An append parses each quantity several times (validation, the rules, the flow totals) and
# quantities repeat (case counts, pack sizes): remembered, a parse is a dictionary look-up.
# Refusals raise every time (lru_cache keeps no exceptions).
@lru_cache(maxsize=4096)
def _parse(text: str, signed: bool) -> int:
    if not _DECIMAL.fullmatch(text):
        raise ValueError(
            f"{text!r} is not a decimal quantity (digits, an optional point and at most "
            "6 fractional digits, no exponent, no leading zeros, at most 13 integer digits)"
        )
    if text.startswith("-") and not signed:
        raise ValueError(f"{text!r} must be positive")
    return int(Decimal(text) * SCALE)


def normalize(text: str, *, signed: bool = False, allow_zero: bool = False) -> str:
    """The normalized form: no trailing fractional zeros, no trailing point, "-0" is "0"."""
    micro = parse_decimal(text, signed=signed)
    if micro == 0 and not allow_zero:
        raise ValueError(f"{text!r} must not be zero")
    return format_micro(micro)


def format_micro(micro: int) -> str:
    """The normalized decimal string of a micro-unit integer."""
    sign = "-" if micro < 0 else ""
    whole, frac = divmod(abs(micro), SCALE)
    if frac == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{frac:06d}".rstrip("0")
