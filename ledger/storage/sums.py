"""Sums of stored micro-unit columns in SQL that cannot overflow, on SQLite and PostgreSQL.

A stored value fits a signed 64-bit integer (``quantity.MAX_TOTAL``), but a sum over many
rows may not: SQLite's ``SUM`` raises "integer overflow" past 2^63 (PostgreSQL's ``SUM`` of
a ``bigint`` is ``numeric`` and exact). So each value is split into its high part
(``x >> 32``, at most 2^31 in magnitude) and its low part (``x & (2^32 - 1)``, below 2^32),
each summed by the database, and the two joined in Python's unbounded integers:
``(high << 32) + low == sum(x)`` exactly, for negative values too (both engines shift
arithmetically). Either partial sum fits 64 bits for any group of fewer than 2^31 rows,
past any table this service keeps in one group. The same SQL on both engines.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Integer, func, literal

SPLIT = 32
LOW_MASK = (1 << SPLIT) - 1


def split_sum(expr: Any) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """The two aggregate columns whose ``joined`` value is ``SUM(expr)``, exactly."""
    return (
        func.sum(expr.op(">>")(literal(SPLIT, Integer))),
        func.sum(expr.op("&")(literal(LOW_MASK, BigInteger))),
    )


def split_sum_sql(expr: str) -> tuple[str, str]:
    """``split_sum`` as SQL text (the two aggregates), for raw statements."""
    return f"SUM(({expr}) >> {SPLIT})", f"SUM(({expr}) & {LOW_MASK})"


def joined(high: Any, low: Any) -> int:
    """The exact sum from ``split_sum``'s two results (NULL, for no rows, is 0)."""
    return (int(high or 0) << SPLIT) + int(low or 0)
