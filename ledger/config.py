"""Configuration: command-line options over ``LOTLEDGER_``-prefixed environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA_DIR = "./lotledger-data"
DEFAULT_ORIGIN = "lotledger.local/log"


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
            origin=origin or env.get("LOTLEDGER_ORIGIN") or DEFAULT_ORIGIN,
            signing_key_path=Path(key_path) if key_path else None,
            signing_key=env.get("LOTLEDGER_SIGNING_KEY"),
        )


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'lotledger.db').resolve()}"
