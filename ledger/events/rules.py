"""Rules other packages share, pure and small: the approval limit, an order's value, the
statuses in which an order has ended."""

from __future__ import annotations

from collections.abc import Iterable

from ledger.quantity import SCALE

#: Orders worth more than this (in currency units) need a manager's approval, unless the
#: buying organisation has its own limit (``order_policies``).
DEFAULT_APPROVAL_LIMIT = 5000 * SCALE


#: An order in one of these has ended: its unreceived shipments are no longer in transit
#: and no receipt matches them.
ENDED_ORDER_STATUSES = ("closed", "cancelled", "fulfilled")


def order_value(lines: Iterable[tuple[int, int]]) -> int:
    """An order's value in micro-units from its lines' (quantity, unit price) micro-units."""
    return sum(qty * price // SCALE for qty, price in lines)
