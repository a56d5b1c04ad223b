"""Configuration: command-line options over ``LOTLEDGER_``-prefixed environment variables."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

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
