"""Quantities travel as normalized decimal strings and are stored as integer micro-units.

"120.5", never 120.5: every implementation in every language must produce the
same canonical bytes. At most six fractional digits; stored as ``value * 10**6``
in a 64-bit integer, so sums in SQL are exact.

Bounds, chosen so that no sum or product the ledger stores or computes in SQL can leave
a signed 64-bit integer (SQLite raises on overflow; PostgreSQL's ``bigint`` columns too):

- ``MAX_QUANTITY`` = 10^9 units (a billion kg, eaches or litres in one event), so
  10^15 micro-units. int64 holds 9.22 * 10^18, so any 9,223 quantities at the maximum
  still sum exactly; the sums the service runs in SQL are over one product's lots at one
  location, a lot's shipments, or one product's days, each far fewer rows of far
  smaller quantities.
- ``MAX_PRICE`` = 10^6 currency units per unit (10^12 micro-units).
- ``MAX_ORDER_VALUE`` = 10^10 currency units for one order (the sum of its lines'
  quantity x unit price): 10^16 micro-units, so 922 orders at the maximum still sum
  exactly. A product quantity x price is computed in Python (exact at any size) and
  checked against it before it is stored.
- ``MAX_TOTAL`` = 10^12 units (10^18 micro-units) for any running total the ledger stores
  (stock on hand, a lot's flows at a location, a day's sales or waste of a product, an order
  line's shipped and received): the projector refuses an event that would take one past
  it, so a stored total always fits a signed 64-bit integer. Sums over many stored rows
  are computed by ``ledger.storage.sums``, which cannot overflow.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache

SCALE = 10**6
MAX_MICRO = 2**63 - 1
MAX_QUANTITY = 10**9
MAX_PRICE = 10**6
MAX_ORDER_VALUE = 10**10
MAX_TOTAL = 10**12
MAX_TOTAL_MICRO = MAX_TOTAL * SCALE
_MAX_QUANTITY_MICRO = MAX_QUANTITY * SCALE
_DECIMAL = re.compile(r"-?(0|[1-9][0-9]{0,12})(\.[0-9]{1,6})?")
#: Fields of events and request bodies that hold decimal strings (quantities, prices,
#: counts, readings, temperatures): a JSON number there gets ``NUMBER_MESSAGE``.
DECIMAL_FIELDS = frozenset(
    {
        "quantity",
        "damaged",
        "out_of_temperature",
        "variance",
        "counted",
        "value",
        "unit_price",
        "unit_cost",
        "temp_min_c",
        "temp_max_c",
        "approval_limit",
        "min_order",
        "case_pack",
    }
)
NUMBER_MESSAGE = (
    'must be a decimal string such as "120.5", not a JSON number: decimals travel as '
    "strings so that every client writes the same bytes"
)


def string_expected_message(field: str, value: object) -> str | None:
    """The message for a JSON number (or boolean) sent where a string is expected, or None
    when ``value`` is not a number. ``field`` is the failing field's last name."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if field in DECIMAL_FIELDS:
        return NUMBER_MESSAGE
    return "must be a string, not a JSON number"


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
            "6 fractional digits, no exponent, no leading zeros)"
        )
    if text.startswith("-") and not signed:
        raise ValueError(f"{text!r} must be positive")
    micro = int(Decimal(text) * SCALE)
    if abs(micro) > _MAX_QUANTITY_MICRO:
        raise ValueError(
            f"{text!r} is over the limit: a quantity is at most {MAX_QUANTITY} "
            f"({MAX_QUANTITY:,}) units"
        )
    return micro


def check_price(text: str) -> str:
    """A unit price: a positive decimal string of at most ``MAX_PRICE``; normalized."""
    micro = parse_decimal(text, signed=False)
    if micro > MAX_PRICE * SCALE:
        raise ValueError(
            f"{text!r} is over the limit: a unit price is at most {MAX_PRICE} "
            f"({MAX_PRICE:,}) currency units"
        )
    return format_micro(micro)


def check_order_value(value_micro: int) -> None:
    """Refuse an order whose value (micro-units) passes ``MAX_ORDER_VALUE``."""
    if value_micro > MAX_ORDER_VALUE * SCALE:
        raise ValueError(
            f"the order's value {format_micro(value_micro)} (quantity x unit price over its "
            f"lines) is over the limit of {MAX_ORDER_VALUE} ({MAX_ORDER_VALUE:,}) currency units"
        )


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
