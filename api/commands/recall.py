"""``lotledger recall GTIN/LOT``: a recall lookup from the command line.

The same answer as ``GET /v1/trace``: every (lot, location) reached, forward or backward,
with what was produced, received, shipped, is in transit to it, on hand, sold or used and
disposed of there; printed as a table, as CSV (``--csv``) or as the API's JSON (``--json``).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys

from api.commands import add_database_options, open_ledger
from ledger import TraceResult, TraceStart
from ledger.lineage.graph import TraceNode, trace
from ledger.quantity import format_micro

HEADER = (
    "lot",
    "product",
    "location",
    "depth",
    "produced",
    "received",
    "shipped",
    "in transit",
    "on hand",
    "sold/used",
    "disposed",
    "path",
)
NUMERIC = frozenset(range(3, 11))
CSV_HEADER = (
    "gtin",
    "lot",
    "product",
    "unit",
    "location",
    "location_name",
    "org_id",
    "held",
    "depth",
    "produced",
    "received",
    "shipped",
    "in_transit",
    "on_hand",
    "sold_or_used",
    "disposed",
    "path",
)


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
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the API's JSON answer")
    output.add_argument("--csv", action="store_true", help="print the table as CSV")
    add_database_options(parser)
    parser.set_defaults(handler=run)


def parse_start(value: str) -> TraceStart | None:
    gtin, sep, rest = value.partition("/")
    lot, _, location = rest.partition("@")
    if not sep or not gtin.isdigit() or not 8 <= len(gtin) <= 14 or not 1 <= len(lot) <= 20:
        return None
    return TraceStart(gtin, lot, location or None)


def _path(result: TraceResult, node: TraceNode) -> str:
    hops = result.path(node)
    return " > ".join(
        [f"{h.from_lot}@{h.from_location}" for h in hops[:1]]
        + [f"{h.to_lot}@{h.to_location}" for h in hops]
    )


def table(result: TraceResult) -> str:
    rows = [HEADER]
    for n in result.nodes:
        rows.append(
            (
                f"{n.gtin}/{n.lot}",
                n.product,
                n.location,
                str(n.depth),
                format_micro(n.produced),
                format_micro(n.received),
                format_micro(n.shipped),
                format_micro(n.in_transit),
                format_micro(n.on_hand),
                format_micro(n.sold_or_used),
                format_micro(n.disposed),
                _path(result, n) or "(start)",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER) - 1)]
    lines = []
    for r in rows:
        cells = [
            c.rjust(w) if i in NUMERIC and r is not HEADER else c.ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=False))
        ]
        lines.append("  ".join([*cells, r[-1]]).rstrip())
    lots = len(result.lots)
    lines.append(
        f"{len(result.nodes)} nodes, {lots} lot{'s' * (lots != 1)}, "
        f"{len(result.locations)} locations ({result.direction})"
    )
    return "\n".join(lines)


def as_csv(result: TraceResult) -> str:
    """The table as CSV: one row per (lot, location), quantities as decimal strings."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for n in result.nodes:
        writer.writerow(
            [
                n.gtin,
                n.lot,
                n.product,
                n.unit,
                n.location,
                n.location_name,
                n.org_id,
                "yes" if n.held else "no",
                n.depth,
                *(
                    format_micro(q)
                    for q in (
                        n.produced,
                        n.received,
                        n.shipped,
                        n.in_transit,
                        n.on_hand,
                        n.sold_or_used,
                        n.disposed,
                    )
                ),
                _path(result, n),
            ]
        )
    return out.getvalue().rstrip("\n")


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
    if args.json:
        print(json.dumps(result.as_dict()))
    else:
        print(as_csv(result) if args.csv else table(result))
    return 0
