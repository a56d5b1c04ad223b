"""The ``lotledger`` command line. Each subcommand is a module ``api/commands/<name>.py``
exposing ``register(subparsers)``; to add one, add its name to COMMANDS."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ledger.errors import LedgerError

COMMANDS: tuple[str, ...] = ("init", "serve", "keys", "demo", "labels", "recall")
COMMANDS += ("stock", "orders", "replenish")  # issue 7
COMMANDS += ("export",)  # issue 15


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lotledger", description="Lotledger: a traceability ledger for food supply chains."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"api.commands.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except LedgerError as exc:
        print(f"lotledger {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
