"""``lotledger keys create|list|revoke``: manage API keys directly in the database."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from api.commands import add_database_options, open_ledger
from ledger.masterdata import keys


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("keys", help="create, list and revoke API keys")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="create a key (its secret is printed once)")
    create.add_argument("--org", required=True, help="organisation id")
    create.add_argument("--role", required=True, choices=keys.ROLES)
    create.add_argument("--label")
    listing = actions.add_parser("list", help="list keys (never their secrets)")
    listing.add_argument("--org", help="only this organisation's keys")
    revoke = actions.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("key_id")
    for sub in (create, listing, revoke):
        add_database_options(sub)
        sub.add_argument("--json", action="store_true")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    ledger = open_ledger(args)
    try:
        if args.action == "create":
            new = keys.create_key(ledger.engine, args.org, args.role, args.label)
            if args.json:
                print(json.dumps({**asdict(new.info), "secret": new.secret}))
            else:
                print(f"{new.info.id}  {new.info.org_id}  {new.info.role}")
                print(new.secret)
        elif args.action == "list":
            found = keys.list_keys(ledger.engine, args.org)
            if args.json:
                print(json.dumps([asdict(k) for k in found]))
            for k in [] if args.json else found:
                state = f"revoked {k.revoked_at}" if k.revoked_at else "active"
                print(
                    f"{k.id}  {k.org_id:16} {k.role:10} ...{k.last4}  {k.created_at}  {state}"
                    + (f"  {k.label}" if k.label else "")
                )
        else:
            info = keys.revoke_key(ledger.engine, args.key_id)
            print(json.dumps(asdict(info)) if args.json else f"{info.id} revoked {info.revoked_at}")
    finally:
        ledger.close()
    return 0
