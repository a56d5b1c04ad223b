"""``lotledger export [--from N] [--to N] > export.jsonl``: the log, for offline audits."""

from __future__ import annotations

import argparse
import sys

from api.commands import add_database_options, settings_from
from ledger import Ledger
from ledger.log.export import export_range, stream_export


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write the log as a lotledger-export (JSON Lines) to stdout or a file",
        description="Write entries [--from, --to) of the log, with their tree nodes and "
        "signed checkpoints, for `lotledger-verify log FILE` and `lotledger-verify recall`.",
    )
    add_database_options(parser)
    parser.add_argument(
        "--from", dest="start", type=int, default=0, metavar="N", help="first entry (default 0)"
    )
    parser.add_argument(
        "--to",
        dest="end",
        type=int,
        metavar="N",
        help="end, exclusive (default: the latest signed checkpoint)",
    )
    parser.add_argument("-o", "--output", help="write here instead of stdout")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.start < 0 or (args.end is not None and args.end < 0):
        print("lotledger export: --from and --to must be >= 0", file=sys.stderr)
        return 2
    settings = settings_from(args)
    # api.cli has already refused a data directory with no ledger (exit 2, in words).
    ledger = Ledger.open(settings, migrate=False)
    try:
        plan = export_range(ledger, args.start, args.end)
        out = open(args.output, "wb") if args.output else sys.stdout.buffer  # noqa: SIM115
        try:
            for chunk in stream_export(ledger, plan):
                out.write(chunk)
            out.flush()
        finally:
            if args.output:
                out.close()
    finally:
        ledger.close()
    entries = plan.end - plan.start
    print(
        f"exported entries {plan.start}..{plan.end - 1} ({entries} entries) of log "
        f"{ledger.origin}, verifier key {ledger.verifier_key}",
        file=sys.stderr,
    )
    return 0
