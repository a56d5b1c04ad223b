"""``lotledger`` subcommands, one module each (see ``api.cli.COMMANDS``)."""

from __future__ import annotations

import argparse

from ledger.config import Settings
from ledger.log import Ledger


def add_database_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        help="data directory: SQLite file and signing key (env LOTLEDGER_DATA_DIR; "
        "default ./lotledger-data)",
    )
    parser.add_argument(
        "--database-url",
        help="e.g. postgresql://user@host/db (env LOTLEDGER_DATABASE_URL; "
        "default SQLite in the data directory)",
    )


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings.load(data_dir=args.data_dir, database_url=args.database_url)


def open_ledger(args: argparse.Namespace) -> Ledger:
    return Ledger.open(settings_from(args))
