"""Engines for SQLite (WAL, the embedded default) and PostgreSQL (psycopg 3).

Writers lock the log head in the database: ``SELECT ... FOR UPDATE`` on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite (a connection opened with
``write_connection``). Nothing is locked in Python, so writers in several
processes never fork the chain.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

_WRITE = "lotledger_write"
#: Connections a process keeps open, and how many more it may open under a burst.
POOL_SIZE = 20
POOL_OVERFLOW = 20
#: WAL pages after which a commit checkpoints them into the database (SQLite's default).
WAL_AUTOCHECKPOINT_PAGES = 1000


def normalize_url(url: str) -> str:
    """Use psycopg 3 for ``postgresql://`` URLs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, *, synchronous: str = "FULL", **kwargs: Any) -> Engine:
    """An engine with the pragmas and transaction behaviour the write path relies on."""
    url = normalize_url(url)
    # Enough pooled connections for the server's thread pool (anyio's 40 threads): past
    # the pool, every request would open a connection and close it again (on PostgreSQL a
    # new backend process each time, on SQLite five pragmas).
    kwargs.setdefault("pool_size", POOL_SIZE)
    kwargs.setdefault("max_overflow", POOL_OVERFLOW)
    if make_url(url).get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **kwargs)
    engine = create_engine(url, connect_args={"timeout": 60}, **kwargs)

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event decide how each transaction starts.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA busy_timeout=60000")
        # 64 MiB page cache (default 2 MiB): a batch of thousands of rows touches many index
        # pages; spilling them mid-transaction doubles the writes.
        cur.execute("PRAGMA cache_size=-65536")
        # SQLite's own WAL checkpoint interval, said out loud. 4,000 pages made 500-event
        # batches about 2 ms faster (fewer checkpoints), but under the mixed load test the
        # commit that runs a checkpoint of 16 MiB holds every write queued behind it: the
        # writes' p99 rose from 120-150 ms to 180-220 ms and their slowest to 0.6-1 s.
        cur.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that may write the log: SQLite takes its write lock up front."""
    with engine.connect().execution_options(**{_WRITE: True}) as conn, conn.begin():
        yield conn


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """A consistent read: one snapshot for every query inside."""
    with engine.connect() as conn, conn.begin():
        yield conn
