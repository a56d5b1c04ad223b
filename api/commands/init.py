"""``lotledger init``: data directory, database schema, signing key, the first admin key."""

from __future__ import annotations

import argparse
import json

from sqlalchemy.engine import make_url

from api.commands import add_database_options
from ledger import ConfigurationError, Ledger, NotFound, Settings
from ledger.masterdata import directory, keys
from ledger.masterdata import registry as masterdata
from verifier.errors import KeyFormatError
from verifier.note import SignerKey


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "init", help="create the data directory, schema, signing key and first admin key"
    )
    add_database_options(parser)
    parser.add_argument("--org-id", default="operator", help="the operator's organisation id")
    parser.add_argument("--org-name", default="Ledger operator")
    parser.add_argument(
        "--origin",
        help="the log's name in its checkpoints and verifier key, e.g. ledger.example.com/log "
        "(env LOTLEDGER_ORIGIN; default <this host's name>/log); fixed once the signing key "
        "exists",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = Settings.load(
        data_dir=args.data_dir, database_url=args.database_url, origin=args.origin
    )
    try:
        SignerKey.generate(settings.origin)  # the same checks the real key gets
    except KeyFormatError as exc:
        raise ConfigurationError(f"--origin {settings.origin!r} cannot name a log: {exc}") from None
    ledger = Ledger.open(settings)
    if args.origin and ledger.origin != args.origin:
        ledger.close()
        raise ConfigurationError(
            f"this ledger's signing key already names the log {ledger.origin!r}; a log keeps "
            "its origin for life (verifiers trust it under that name): leave --origin out, "
            "or init a new data directory"
        )
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
