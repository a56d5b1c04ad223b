"""``lotledger`` subcommands, one module each (see ``api.cli.COMMANDS``)."""

from __future__ import annotations

import argparse
import os

from ledger import Ledger, Settings
from ledger.config import DEFAULT_DATA_DIR, require_ledger

#: The commands that may bring a new ledger into being: ``init``, and ``demo``, which loads
#: its supply chain into a new ledger (``serve --init`` runs ``init`` first). Every other
#: command opens an existing ledger, or fails with exit code 2 saying where it looked.
CREATES_LEDGER = frozenset({"init", "demo"})


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


def data_dir_source(args: argparse.Namespace) -> str:
    """Where the data directory came from, as the message of a missing ledger says it."""
    if args.data_dir:
        return "from --data-dir"
    if os.environ.get("LOTLEDGER_DATA_DIR"):
        return "from LOTLEDGER_DATA_DIR"
    return f"the default {DEFAULT_DATA_DIR}, relative to the current directory"


def check_ledger(args: argparse.Namespace) -> None:
    """Raise ``LedgerNotFound`` unless the options and environment name an existing ledger."""
    require_ledger(settings_from(args), data_dir_from=data_dir_source(args))


def open_ledger(args: argparse.Namespace) -> Ledger:
    """The ledger the options name. Only the commands in ``CREATES_LEDGER`` create one;
    the others raise ``LedgerNotFound`` (exit code 2) where there is none."""
    if getattr(args, "command", None) not in CREATES_LEDGER:
        check_ledger(args)
    return Ledger.open(settings_from(args))
