"""``lotledger init``: data directory, database schema, signing key, the first admin key."""

from __future__ import annotations

import argparse
import json

from sqlalchemy.engine import make_url

from api.commands import add_database_options, open_ledger, settings_from
from ledger import directory, keys, masterdata
from ledger.errors import NotFound


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "init", help="create the data directory, schema, signing key and first admin key"
    )
    add_database_options(parser)
    parser.add_argument("--org-id", default="operator", help="the operator's organisation id")
    parser.add_argument("--org-name", default="Ledger operator")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    ledger = open_ledger(args)
    try:
        try:
            directory.get_organisation(ledger.engine, args.org_id)
        except NotFound:
            masterdata.create_organisation(ledger.engine, args.org_id, args.org_name)
        new = keys.create_key(ledger.engine, args.org_id, "admin", "created by lotledger init")
        out = {
            "data_dir": str(settings.data_dir.resolve()),
            "database_url": _redact(settings.database_url),
            "origin": ledger.origin,
            "verifier_key": str(ledger.verifier_key),
            "admin_key_id": new.info.id,
            "admin_key": new.secret,
        }
    finally:
        ledger.close()
    if args.json:
        print(json.dumps(out))
    else:
        print(f"data directory  {out['data_dir']}")
        print(f"database        {out['database_url']}")
        print(f"log origin      {out['origin']}")
        print(f"verifier key    {out['verifier_key']}")
        print(f"admin key       {out['admin_key']}   (id {out['admin_key_id']}; shown once)")
    return 0


def _redact(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
