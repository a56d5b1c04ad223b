"""``lotledger orders list|show|place|approve|confirm|ship|receive|close|cancel|policy``:
purchase orders, every step an event appended for ``--org``."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from datetime import date

from api.commands import add_database_options, open_ledger
from ledger.inventory import orders
from ledger.masterdata import terms


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("orders", help="purchase orders")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="orders, newest first")
    listing.add_argument("--org", help="only orders this organisation placed or received")
    listing.add_argument("--status")
    show = actions.add_parser("show", help="an order with its lines and lots")
    show.add_argument("order_id")
    show.add_argument("--org")
    place = actions.add_parser("place", help="place an order")
    place.add_argument("--org", required=True)
    place.add_argument("--buyer", required=True, help="buying location")
    place.add_argument("--supplier", required=True, help="supplier location")
    place.add_argument("--unit", default="each")
    place.add_argument("--order-id")
    place.add_argument("lines", nargs="+", metavar="GTIN=QTY[@PRICE]")
    steps = []
    for name, text in (
        ("approve", "approve (a manager's decision)"),
        ("confirm", "confirm with --promised YYYY-MM-DD"),
        ("ship", "ship, first expired first out"),
        ("receive", "receive everything in transit in full"),
        ("close", "close: the rest is short"),
        ("cancel", "cancel with --reason"),
    ):
        step = actions.add_parser(name, help=text)
        step.add_argument("order_id")
        step.add_argument("--org", required=True)
        steps.append(step)
    steps[1].add_argument("--promised", required=True, type=date.fromisoformat)
    steps[5].add_argument("--reason", required=True)
    policy = actions.add_parser("policy", help="set an organisation's approval limit")
    policy.add_argument("--org", required=True)
    policy.add_argument("--limit", required=True)
    for sub in (listing, show, place, policy, *steps):
        add_database_options(sub)
        sub.add_argument("--json", action="store_true")
    parser.set_defaults(handler=run)


def _lines(texts: list[str], unit: str) -> list[dict[str, str]]:
    lines = []
    for text in texts:
        gtin, _, rest = text.partition("=")
        qty, _, price = rest.partition("@")
        line = {"gtin": gtin, "quantity": qty, "unit": unit}
        if price:
            line["unit_price"] = price
        lines.append(line)
    return lines


def run(args: argparse.Namespace) -> int:
    ledger = open_ledger(args)
    try:
        a = args.action
        if a == "list":
            found = orders.list_orders(ledger.engine, viewer=args.org, status=args.status)
            if args.json:
                print(json.dumps([asdict(o) for o in found]))
            for o in [] if args.json else found:
                print(
                    f"{o.order_id}  {o.buyer_location} <- {o.supplier_location}  "
                    f"{o.status}  {o.value}"
                )
            return 0
        if a == "policy":
            limit = terms.set_approval_limit(ledger.engine, args.org, args.limit)
            print(json.dumps({"org_id": args.org, "approval_limit": limit}))
            return 0
        if a == "show":
            view = orders.get_order(ledger.engine, args.order_id, viewer=args.org)
        elif a == "place":
            view = orders.place_order(
                ledger,
                actor=args.org,
                buyer_location=args.buyer,
                supplier_location=args.supplier,
                lines=_lines(args.lines, args.unit),
                order_id=args.order_id,
            )
        elif a == "approve":
            view = orders.approve_order(ledger, args.order_id, actor=args.org)
        elif a == "confirm":
            view = orders.confirm_order(
                ledger, args.order_id, actor=args.org, promised_date=args.promised
            )
        elif a == "ship":
            view, _ = orders.ship_order(ledger, args.order_id, actor=args.org)
        elif a == "receive":
            view = orders.receive_order(ledger, args.order_id, actor=args.org)
        elif a == "close":
            view = orders.close_order(ledger, args.order_id, actor=args.org)
        else:
            view = orders.cancel_order(ledger, args.order_id, actor=args.org, reason=args.reason)
        print(json.dumps(asdict(view), indent=None if args.json else 2))
    finally:
        ledger.close()
    return 0
