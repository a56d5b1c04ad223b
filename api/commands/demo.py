"""``lotledger demo``: load the demo supply chain and print its API keys."""

from __future__ import annotations

import argparse
import json

from api.commands import add_database_options, open_ledger
from ledger.demo_data import load_demo


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo", help="load a realistic demo dataset (farm to store, 4 weeks) and print its keys"
    )
    add_database_options(parser)
    parser.add_argument("--weeks", type=int, default=4)
    parser.add_argument("--seed", type=int, default=2611)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    ledger = open_ledger(args)
    try:
        result = load_demo(ledger, weeks=args.weeks, seed=args.seed)
    finally:
        ledger.close()
    if args.json:
        print(
            json.dumps(
                {
                    "keys": result.keys,
                    "events": result.events,
                    "tree_size": result.tree_size,
                    "lots": result.lots,
                    "excursion_lot": result.excursion_lot,
                }
            )
        )
        return 0
    print(f"loaded {result.events} events; the log holds {result.tree_size} entries")
    print(f"salad lots: {', '.join(result.lots['salad'])}")
    print(f"cold-chain excursion: salad lot {result.excursion_lot} is on hold at cg-dc")
    print("API keys (shown once):")
    for name, secret in result.keys.items():
        print(f"  {name:26} {secret}")
    return 0
