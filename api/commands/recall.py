"""``lotledger recall GTIN/LOT``: a recall lookup from the command line.

The same answer as ``GET /v1/trace``: every (lot, location) reached, forward or backward,
printed as a table (or, with ``--json``, the API's JSON document).
"""

from __future__ import annotations

import argparse
import json
import sys

from api.commands import add_database_options, open_ledger
from ledger.quantity import format_micro
from ledger.trace import TraceResult, TraceStart, trace

HEADER = ("lot", "location", "depth", "received", "on hand", "sold/used", "disposed", "path")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "recall",
        help="where did a lot go (or come from): every affected lot and location",
        description="Trace lots through shipments, receipts and transformations. "
        "LOT is GTIN/LOT, or GTIN/LOT@LOCATION to start at one location.",
    )
    parser.add_argument("lots", nargs="+", metavar="GTIN/LOT")
    parser.add_argument("--direction", choices=["forward", "backward"], default="forward")
    parser.add_argument("--max-depth", type=int, default=None, metavar="N")
    parser.add_argument("--json", action="store_true", help="print the API's JSON answer")
    add_database_options(parser)
    parser.set_defaults(handler=run)


def parse_start(value: str) -> TraceStart | None:
    gtin, sep, rest = value.partition("/")
    lot, _, location = rest.partition("@")
    if not sep or not gtin.isdigit() or not 8 <= len(gtin) <= 14 or not 1 <= len(lot) <= 20:
        return None
    return TraceStart(gtin, lot, location or None)


def table(result: TraceResult) -> str:
    rows = [HEADER]
    for n in result.nodes:
        hops = result.path(n)
        path = " > ".join(
            [f"{h.from_lot}@{h.from_location}" for h in hops[:1]]
            + [f"{h.to_lot}@{h.to_location}" for h in hops]
        )
        rows.append(
            (
                f"{n.gtin}/{n.lot}",
                n.location,
                str(n.depth),
                format_micro(n.received),
                format_micro(n.on_hand),
                format_micro(n.sold_or_used),
                format_micro(n.disposed),
                path or "(start)",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER) - 1)]
    numeric = {2, 3, 4, 5, 6}
    lines = []
    for r in rows:
        cells = [
            c.rjust(w) if i in numeric and r is not HEADER else c.ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=False))
        ]
        lines.append("  ".join([*cells, r[-1]]).rstrip())
    lots = len(result.lots)
    lines.append(
        f"{len(result.nodes)} nodes, {lots} lot{'s' * (lots != 1)}, "
        f"{len(result.locations)} locations ({result.direction})"
    )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    starts = [parse_start(v) for v in args.lots]
    bad = [v for v, s in zip(args.lots, starts, strict=True) if s is None]
    if bad:
        print(f"lotledger recall: not GTIN/LOT: {', '.join(bad)}", file=sys.stderr)
        return 2
    if args.max_depth is not None and args.max_depth < 0:
        print("lotledger recall: --max-depth must be at least 0", file=sys.stderr)
        return 2
    ledger = open_ledger(args)
    try:
        result = trace(ledger.engine, [s for s in starts if s], args.direction, args.max_depth)
    finally:
        ledger.close()
    print(json.dumps(result.as_dict()) if args.json else table(result))
    return 0
