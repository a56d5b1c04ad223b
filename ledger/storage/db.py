"""Engines for SQLite (WAL, the embedded default) and PostgreSQL (psycopg 3).

Writers lock the log head in the database: ``SELECT ... FOR UPDATE`` on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite (a connection opened with
``write_connection``). Nothing is locked in Python, so writers in several
processes never fork the chain.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from ledger.config import normalize_url

_WRITE = "lotledger_write"
#: Connections a process keeps open, and how many more it may open under a burst.
POOL_SIZE = 20
POOL_OVERFLOW = 20
#: WAL pages after which a commit checkpoints them into the database (SQLite's default).
WAL_AUTOCHECKPOINT_PAGES = 1000
#: The same, when a ``WalCheckpointer`` runs: a backstop only, far above what it lets pile up.
WAL_BACKSTOP_PAGES = 10_000
#: How often a ``WalCheckpointer`` copies what the WAL holds into the database file.
CHECKPOINT_INTERVAL_S = 0.1
_CATCH_UP_TRIES = 4

log = logging.getLogger(__name__)


def is_sqlite(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(
    url: str,
    *,
    synchronous: str = "FULL",
    wal_autocheckpoint: int = WAL_AUTOCHECKPOINT_PAGES,
    **kwargs: Any,
) -> Engine:
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
        # The WAL size at which a commit checkpoints (copies the WAL into the database file)
        # before it returns. SQLite's 1,000 pages unless a WalCheckpointer does that work on
        # its own thread; then only a backstop. (4,000 pages without a checkpointer made
        # 500-event batches faster, but under the mixed load test the commit that ran a
        # 16 MiB checkpoint held every write queued behind it and the slowest writes took
        # far longer: docs/benchmarks-history.md, "Figures from the code".)
        cur.execute(f"PRAGMA wal_autocheckpoint={wal_autocheckpoint}")
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


class WalCheckpointer:
    """Checkpoints a SQLite WAL on a thread of its own, off the writers' path.

    With SQLite's default, the commit that takes the WAL past 1,000 pages copies them into
    the database file (and syncs it) before it returns: every 500-event batch paid for it on
    average (docs/benchmarks-history.md, "Figures from the code"), and the write that drew a
    large checkpoint held every write queued behind it. Here a thread runs a PASSIVE
    checkpoint every ``interval`` seconds: it copies only frames already committed, never
    takes the write lock and never waits for it, so writers go on appending to the WAL
    meanwhile (their statements and its I/O release the GIL and run on another core). The
    engine's connections keep a backstop (``WAL_BACKSTOP_PAGES``), so the WAL stays bounded
    should this thread fall behind.

    Only for a SQLite file in WAL mode (``applies``); the service starts one per process
    (``Ledger.open(background_checkpoints=True)``). Several processes over one file may
    each run one: a checkpoint that finds another in progress returns and tries next time.
    """

    def __init__(self, engine: Engine, interval: float = CHECKPOINT_INTERVAL_S) -> None:
        self.engine = engine
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lotledger-wal-checkpoint")
        self._thread.daemon = True

    @staticmethod
    def applies(engine: Engine) -> bool:
        if not is_sqlite(engine):
            return False
        with engine.connect() as conn:
            return conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        """Stop the thread, after the checkpoint in progress (if any) ends."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def checkpoint(self) -> tuple[int, int]:
        """One PASSIVE checkpoint: (frames in the WAL, frames now in the database file)."""
        raw = self.engine.raw_connection()
        try:
            cur = raw.cursor()
            _busy, frames, copied = cur.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            cur.close()
        finally:
            raw.close()
        return int(frames), int(copied)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                # Frames committed while a checkpoint ran are copied at once, so that a
                # write more often begins on a WAL copied whole: only such a write starts
                # the file over (under steady writes it is mostly the backstop's commit,
                # which then has little left to copy).
                for _ in range(_CATCH_UP_TRIES):
                    frames, copied = self.checkpoint()
                    if copied >= frames:
                        break
            except Exception:  # a failed checkpoint loses nothing: the WAL keeps the pages
                log.exception("WAL checkpoint failed; the next one will retry")
