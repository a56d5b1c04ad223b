"""``lotledger demo``: load the demo supply chain and print what the README's examples use:
its GTINs, lot codes, locations, API keys and the log's verifier key, as shell ``export``
lines to paste (or ``eval``), or as one JSON object with ``--json``."""

from __future__ import annotations

import argparse
import json
import shlex

from api.commands import add_database_options, open_ledger
from ledger.demo.data import MAX_WEEKS, DemoResult, load_demo

#: The service's address in the printed exports, unless the shell already has one.
DEFAULT_URL = "http://127.0.0.1:8000"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="load a realistic demo dataset (farm to store, ending today) and print its "
        "keys, lots and locations as shell exports",
    )
    add_database_options(parser)
    parser.add_argument(
        "--weeks", type=_weeks, default=4, help=f"weeks of salad history, 1 to {MAX_WEEKS}"
    )
    parser.add_argument("--seed", type=int, default=2611)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def _weeks(text: str) -> int:
    try:
        weeks = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of weeks") from None
    if not 1 <= weeks <= MAX_WEEKS:
        raise argparse.ArgumentTypeError(f"the demo has 1 to {MAX_WEEKS} weeks, not {weeks}")
    return weeks


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
                    "first_day": result.first_day,
                    "today": result.today,
                    "verifier_key": result.verifier_key,
                    "variables": result.variables(),
                }
            )
        )
        return 0
    print(exports(result))
    return 0


def exports(result: DemoResult) -> str:
    """The demo's summary: comments, and one ``export`` line per README variable."""
    v = result.variables()
    lines = [
        f"# loaded {result.events} events ({result.first_day} to today, {result.today});"
        f" the log holds {result.tree_size} entries",
        f"# salad lots (GTIN {v['SALAD']}), oldest first: {', '.join(result.lots['salad'])}",
        f"# lettuce lots (GTIN {v['LETTUCE']}): {', '.join(result.lots['lettuce'])}",
        f"# tomato lots (GTIN {v['TOMATO']}): {', '.join(result.lots['tomato'])}",
    ]
    if result.excursion_lot:
        lines.append(
            f"# cold-chain excursion: salad lot {result.excursion_lot} is on hold at {v['DC']}"
        )
    lines += [
        "# locations: farm gv-field-3, packer sr-packhouse, plant fc-plant,"
        " DC cg-dc, stores cg-store-1..3",
        "# API keys are shown once. Paste these lines into your shell for the README's examples:",
        f'export LOTLEDGER_URL="${{LOTLEDGER_URL:-{DEFAULT_URL}}}"',
    ]
    lines += [f"export {name}={shlex.quote(value)}" for name, value in v.items()]
    return "\n".join(lines)
