"""``lotledger tiles sync DIR [--entries]``: the log's C2SP tiles as static files."""

from __future__ import annotations

import argparse
from pathlib import Path

from api.commands import add_database_options, settings_from
from ledger import Ledger
from ledger.tiles import sync_directory


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "tiles",
        help="the log as C2SP tlog-tiles static files",
        description="C2SP tlog-tiles as static files that any web server or CDN serves.",
    )
    sub = parser.add_subparsers(dest="tiles_command", required=True, metavar="SUBCOMMAND")
    sync = sub.add_parser(
        "sync",
        help="write (incrementally) the checkpoint and tiles into a directory",
        description="Write DIR/checkpoint and DIR/tile/<L>/<N>[.p/<W>] exactly as "
        "`lotledger serve` answers them. Incremental: full tiles already in DIR are never "
        "read or written again; the checkpoint is replaced last, atomically; partial tiles "
        "the tree no longer needs are removed.",
    )
    sync.add_argument("directory", type=Path, metavar="DIR")
    sync.add_argument(
        "--entries",
        action="store_true",
        help="also write the entry bundles (tile/entries/...): the log's contents, which the "
        "service shows only to admin and regulator keys; serve DIR only to them",
    )
    add_database_options(sync)
    sync.set_defaults(handler=run_sync)


def run_sync(args: argparse.Namespace) -> int:
    # api.cli has already refused a data directory with no ledger (exit 2, in words).
    ledger = Ledger.open(settings_from(args), migrate=False)
    try:
        report = sync_directory(ledger, args.directory, entries=args.entries)
    finally:
        ledger.close()
    print(
        f"synced {args.directory}: tree size {report.tree_size}, {report.written} tiles "
        f"written, {report.kept} full tiles already there, {report.removed} stale partial "
        "tiles removed"
    )
    return 0
