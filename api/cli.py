"""The ``lotledger`` command line. Each subcommand is a module ``api/commands/<name>.py``
exposing ``register(subparsers)``; to add one, add its name to COMMANDS."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from api.commands import CREATES_LEDGER, check_ledger
from ledger import LedgerError, LedgerNotFound

COMMANDS: tuple[str, ...] = ("init", "serve", "keys", "demo", "labels", "recall")
COMMANDS += ("stock", "orders", "replenish")  # issue 7
COMMANDS += ("export",)  # issue 15
COMMANDS += ("tiles",)  # issue 21


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lotledger", description="Lotledger: a traceability ledger for food supply chains."
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"api.commands.{name}").register(subparsers)
    return parser


def _works_on_a_ledger(args: argparse.Namespace) -> bool:
    """Whether the command needs an existing ledger: it takes the database options and
    may not create one (``serve --init`` may)."""
    if not hasattr(args, "data_dir") or args.command in CREATES_LEDGER:
        return False
    return not (args.command == "serve" and args.init)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if _works_on_a_ledger(args):  # before the command's own checks: labels has some
            check_ledger(args)
        return int(args.handler(args) or 0)
    except LedgerNotFound as exc:  # a usage error: the command was pointed at no ledger
        print(f"lotledger {args.command}: {exc}", file=sys.stderr)
        return 2
    except LedgerError as exc:
        print(f"lotledger {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
