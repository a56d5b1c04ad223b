"""Bulk statements for the hot write path: driver-level executemany, no per-row compiling.

SQLAlchemy Core compiles and processes parameters row by row; at tens of
thousands of rows a second that costs more than the database itself. These
helpers hand plain tuples to the driver's ``executemany`` (SQLite) or to
psycopg's pipelined ``executemany`` (PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection


def placeholders(conn: Connection, count: int) -> str:
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    return ", ".join([mark] * count)


def insert_rows(
    conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """INSERT rows (tuples in ``columns`` order) into ``table``, a fixed name from the schema."""
    if not rows:
        return
    marks = placeholders(conn, len(columns))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608 - schema names
    conn.exec_driver_sql(sql, list(rows))


def upsert_rows(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    key: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> None:
    """INSERT ... ON CONFLICT (key) DO UPDATE the other columns (SQLite and PostgreSQL)."""
    if not rows:
        return
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
    marks = placeholders(conn, len(columns))
    # Table and column names come from the schema; every value is a bound parameter.
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) "  # noqa: S608
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}"
    )
    conn.exec_driver_sql(sql, list(rows))


def select_in(
    conn: Connection, sql: str, keys: Sequence[Any], *, chunk: int = 400
) -> list[Sequence[Any]]:
    """Rows of ``sql``, a SELECT whose one ``{keys}`` stands for ``IN (...)`` of ``keys``.

    Runs one statement per ``chunk`` keys (well under SQLite's bound-parameter limit).
    Built here rather than with an expanding bind parameter: SQLAlchemy renders and
    processes an expanding parameter key by key, several times the cost of the query on
    a batch of hundreds of keys. ``sql`` holds fixed table and column names only.
    """
    rows: list[Sequence[Any]] = []
    for start in range(0, len(keys), chunk):
        part = keys[start : start + chunk]
        statement = sql.format(keys=f"IN ({placeholders(conn, len(part))})")
        rows += conn.exec_driver_sql(statement, tuple(part)).all()
    return rows
