"""``lotledger stock show|count|report``: stock on hand, in transit and expiring; record a
stock count; inventory reports. Runs directly on the database, like ``keys``."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from datetime import date, timedelta
from typing import Any

from api.commands import add_database_options, open_ledger
from ledger.inventory import reports
from ledger.inventory import stock as inventory


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("stock", help="stock, counts and inventory reports")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    show = actions.add_parser("show", help="stock on hand at a location")
    show.add_argument("location")
    show.add_argument("--expiring", type=int, metavar="DAYS", help="only stock expiring soon")
    show.add_argument("--in-transit", action="store_true", help="open shipments instead")
    count = actions.add_parser("count", help="record a count: adjust events for variances")
    count.add_argument("location")
    count.add_argument("--org", required=True, help="the location's organisation")
    count.add_argument("--reason", default="count", choices=inventory.COUNT_REASONS)
    count.add_argument("lines", nargs="+", metavar="GTIN/LOT=QTY")
    report = actions.add_parser("report", help="inventory reports")
    report.add_argument("kind", choices=("value", "abc", "shrinkage", "suppliers"))
    report.add_argument("--org", help="only this organisation's view (default: everything)")
    report.add_argument("--days", type=int, default=28, help="window for abc and shrinkage")
    for sub in (show, count, report):
        add_database_options(sub)
        sub.add_argument("--json", action="store_true")
    parser.set_defaults(handler=run)


def _print(rows: list[Any], as_json: bool) -> None:
    data = [
        r if isinstance(r, dict) else r._asdict() if hasattr(r, "_asdict") else asdict(r)
        for r in rows
    ]
    if as_json:
        print(json.dumps(data))
        return
    for row in data:
        print("  ".join(f"{k}={v}" for k, v in row.items()))


def run(args: argparse.Namespace) -> int:
    ledger = open_ledger(args)
    try:
        if args.action == "show":
            if args.in_transit:
                _print(inventory.in_transit(ledger.engine, args.location, viewer=None), args.json)
            elif args.expiring is not None:
                found = inventory.expiry_alerts(
                    ledger.engine, args.location, viewer=None, days=args.expiring
                )
                _print(found, args.json)
            else:
                _print(
                    inventory.location_stock(ledger.engine, args.location, viewer=None), args.json
                )
        elif args.action == "count":
            counts = []
            for text in args.lines:
                ref, _, qty = text.partition("=")
                gtin, _, lot = ref.partition("/")
                counts.append((gtin, lot, qty))
            events, _ = inventory.record_count(
                ledger, args.location, counts, actor=args.org, reason=args.reason
            )
            _print(events, args.json)
        else:
            end = inventory.today_utc()
            start = end - timedelta(days=args.days)
            _print(_report(ledger.engine, args.kind, args.org, start, end), args.json)
    finally:
        ledger.close()
    return 0


def _report(engine: Any, kind: str, org: str | None, start: date, end: date) -> list[Any]:
    if kind == "value":
        return list(reports.inventory_value(engine, viewer=org))
    if kind == "abc":
        return list(reports.abc_classes(engine, viewer=org, start=start, end=end))
    if kind == "shrinkage":
        return list(reports.shrinkage(engine, viewer=org, start=start, end=end))
    return reports.supplier_scorecards(engine, viewer=org)
