"""``lotledger replenish suggest|accept|terms|suppliers``: replenishment suggestions with
their numbers, accepted into purchase orders; product ordering terms; the suppliers of a
product ordered from more than one."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from api.commands import add_database_options, open_ledger
from ledger import EventValidationError, Problem
from ledger.inventory import replenishment
from ledger.masterdata import terms


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("replenish", help="replenishment suggestions and terms")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    suggest = actions.add_parser("suggest", help="what to order now, and why")
    suggest.add_argument("locations", nargs="+")
    suggest.add_argument("--service-level", type=float, default=0.95)
    suggest.add_argument("--all", action="store_true", help="include zero quantities")
    accept = actions.add_parser("accept", help="turn suggestions into purchase orders")
    accept.add_argument("location")
    accept.add_argument("--org", required=True)
    accept.add_argument("--gtin", action="append", help="only these products (repeatable)")
    setting = actions.add_parser("terms", help="set a product's ordering terms")
    setting.add_argument("gtin")
    for name, default in (("case-pack", "1"), ("min-order", "0"), ("unit-cost", "0"),
                          ("unit-price", "0")):  # fmt: skip
        setting.add_argument(f"--{name}", default=default)
    setting.add_argument("--removal-days", type=int, default=1)
    setting.add_argument("--lead-time-days", type=int, default=2)
    setting.add_argument("--supplier", help="location it is ordered from")
    setting.add_argument("--org", required=True, help="the buying organisation of the terms")
    several = actions.add_parser(
        "suppliers", help="show, or replace, a product's suppliers (preferred first)"
    )
    several.add_argument("gtin")
    several.add_argument(
        "suppliers", nargs="*", metavar="LOCATION=DAYS", help="supplier and quoted lead time"
    )
    several.add_argument("--clear", action="store_true", help="back to the terms' supplier")
    several.add_argument("--org", required=True, help="the buying organisation")
    for sub in (suggest, accept, setting, several):
        add_database_options(sub)
        sub.add_argument("--json", action="store_true")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    ledger = open_ledger(args)
    try:
        if args.action == "suggest":
            found = replenishment.suggest(
                ledger.engine,
                args.locations,
                viewer=None,
                service_level=args.service_level,
                only_needed=not args.all,
            )
            if args.json:
                print(json.dumps([asdict(s) for s in found]))
            for s in [] if args.json else found:
                x = s.explain
                print(
                    f"{s.location_id}  {s.gtin}  order {s.quantity} {s.unit} from "
                    f"{s.supplier_location or '(no supplier in its terms)'}  "
                    f"({x['method']}; position {x['position']} <= "
                    f"reorder point {x['reorder_point']}; up to {x['order_up_to']}; "
                    f"lead {x['lead_time_days']} d)"
                )
        elif args.action == "accept":
            placed = replenishment.accept(ledger, args.location, actor=args.org, gtins=args.gtin)
            print(json.dumps([asdict(o) for o in placed]))
        elif args.action == "suppliers":
            if args.suppliers or args.clear:
                suppliers = terms.set_suppliers(
                    ledger.engine, args.org, args.gtin, _supplier_pairs(args.suppliers)
                )
            else:
                suppliers = terms.suppliers_of(ledger.engine, args.org, args.gtin)
            print(json.dumps([asdict(s) for s in suppliers]))
        else:
            saved = terms.set_terms(
                ledger.engine,
                args.org,
                args.gtin,
                case_pack=args.case_pack,
                min_order=args.min_order,
                unit_cost=args.unit_cost,
                unit_price=args.unit_price,
                removal_days=args.removal_days,
                supplier_location=args.supplier,
                lead_time_days=args.lead_time_days,
            )
            print(json.dumps(asdict(saved)))
    finally:
        ledger.close()
    return 0


def _supplier_pairs(items: list[str]) -> list[tuple[str, int]]:
    pairs = []
    for n, item in enumerate(items):
        location, _, days = item.partition("=")
        if not location or not days.isdigit():
            raise EventValidationError(
                [Problem(0, f"suppliers.{n}", f"{item!r} is not LOCATION=DAYS, e.g. dc-1=2")]
            )
        pairs.append((location, int(days)))
    return pairs
