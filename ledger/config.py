"""Configuration: command-line options over ``LOTLEDGER_``-prefixed environment variables."""

from __future__ import annotations

import os
import socket
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from ledger.errors import LedgerNotFound

DEFAULT_DATA_DIR = "./lotledger-data"
DEFAULT_ORIGIN = "lotledger.local/log"  # only when the host has no usable name


def default_origin() -> str:
    """``<host name>/log``: each deployment names its own log (``lotledger init --origin``
    or ``LOTLEDGER_ORIGIN`` to choose another, e.g. the public host name behind a proxy)."""
    host = socket.getfqdn().strip().lower().rstrip(".")
    usable = (
        host
        and host not in ("localhost", "localhost.localdomain")
        and all(c.isalnum() or c in "-._" for c in host)
    )
    return f"{host}/log" if usable else DEFAULT_ORIGIN


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path
    database_url: str
    origin: str
    signing_key_path: Path | None
    signing_key: str | None

    @classmethod
    def load(
        cls,
        *,
        data_dir: str | None = None,
        database_url: str | None = None,
        origin: str | None = None,
    ) -> Settings:
        env = os.environ
        directory = Path(data_dir or env.get("LOTLEDGER_DATA_DIR") or DEFAULT_DATA_DIR)
        url = database_url or env.get("LOTLEDGER_DATABASE_URL") or sqlite_url(directory)
        key_path = env.get("LOTLEDGER_SIGNING_KEY_FILE")
        return cls(
            data_dir=directory,
            database_url=url,
            origin=origin or env.get("LOTLEDGER_ORIGIN") or default_origin(),
            signing_key_path=Path(key_path) if key_path else None,
            signing_key=env.get("LOTLEDGER_SIGNING_KEY"),
        )


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'lotledger.db').resolve()}"


def require_ledger(settings: Settings, *, data_dir_from: str = "") -> None:
    """Raise ``LedgerNotFound`` unless ``settings`` name a ledger that exists: a database
    that holds the ledger's schema, and its signing key. Creates nothing (opening the
    ledger would create an empty one and a new key on first use); only ``lotledger init``
    (and ``serve --init``, ``demo``) may. ``data_dir_from`` says where the data directory
    came from (an option, the environment, the default), for the message."""
    directory = settings.data_dir.resolve()
    where = f"{directory}" + (f" ({data_dir_from})" if data_dir_from else "")
    how = (
        "Point at your ledger with --data-dir DIR or LOTLEDGER_DATA_DIR=DIR (and "
        "--database-url or LOTLEDGER_DATABASE_URL when it is on PostgreSQL)"
    )
    missing = _missing_schema(settings.database_url)
    if missing is not None:
        raise LedgerNotFound(
            f"no ledger in {where}: {missing}. {how}, or create a new one with `lotledger init`.",
            str(directory),
        )
    if settings.signing_key:
        return
    key = settings.signing_key_path or settings.data_dir / "signing.key"
    if not key.exists():
        raise LedgerNotFound(
            f"the ledger's signing key is not at {key.resolve()} (data directory {where}); "
            "a new key would not match the log's checkpoints. Point at the directory that "
            "holds it with --data-dir DIR or LOTLEDGER_DATA_DIR=DIR, or at the key with "
            "LOTLEDGER_SIGNING_KEY_FILE.",
            str(directory),
        )


def _missing_schema(database_url: str) -> str | None:
    """Why the database holds no ledger (None when it does), without creating anything."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        name = url.database or ""
        if name in ("", ":memory:"):
            return "an in-memory SQLite database holds no ledger"
        path = Path(name).resolve()
        if not path.exists():
            return f"there is no database file {path}"
        try:
            raw = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
            try:
                found = raw.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
                ).fetchone()
            finally:
                raw.close()
        except sqlite3.Error as exc:
            return f"{path} is not a SQLite database ({exc})"
        return None if found else f"the database file {path} holds no ledger"
    engine = create_engine(normalize_url(database_url))
    shown = url.render_as_string(hide_password=True)
    try:
        with engine.connect() as conn:
            has_schema = inspect(conn).has_table("alembic_version")
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        return f"the database {shown} cannot be reached ({reason})"
    finally:
        engine.dispose()
    return None if has_schema else f"the database {shown} holds no ledger"


def normalize_url(url: str) -> str:
    """Use psycopg 3 for ``postgresql://`` URLs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)
