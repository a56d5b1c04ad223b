"""``lotledger serve``: run the HTTP service with uvicorn."""

from __future__ import annotations

import argparse
import os

import uvicorn

from api.app import NO_MIGRATE_ENV
from api.commands import add_database_options, check_ledger, open_ledger
from api.commands import init as init_command
from ledger import LedgerNotFound

#: Seconds an idle keep-alive connection stays open. uvicorn's default (5 s) is shorter
#: than the pause of a person between two scans, so the server would close a connection
#: just as the phone or the client sends its next request on it (a reset, not an answer);
#: 65 s outlasts the usual 60 s idle timeout of a proxy in front.
KEEP_ALIVE_S = 65


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("serve", help="run the HTTP service (uvicorn)")
    add_database_options(parser)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes (several need one database)"
    )
    parser.add_argument("--log-level", default="info")
    parser.add_argument(
        "--init",
        action="store_true",
        help="where there is no ledger yet, create one first as `lotledger init` does "
        "(printing the first admin key); without it, serve refuses to start on no ledger",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.init:
        try:
            check_ledger(args)
        except LedgerNotFound:
            _init(args)
    # Migrate (and create the signing key) once, here, before workers start.
    open_ledger(args).close()
    if args.data_dir:
        os.environ["LOTLEDGER_DATA_DIR"] = args.data_dir
    if args.database_url:
        os.environ["LOTLEDGER_DATABASE_URL"] = args.database_url
    os.environ[NO_MIGRATE_ENV] = "1"
    uvicorn.run(
        "api.app:create_served_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE_S,
    )
    return 0


def _init(args: argparse.Namespace) -> None:
    """Run ``lotledger init`` on the same data directory and database, with its defaults."""
    argv = ["init"]
    if args.data_dir:
        argv += ["--data-dir", args.data_dir]
    if args.database_url:
        argv += ["--database-url", args.database_url]
    parser = argparse.ArgumentParser(prog="lotledger")
    init_command.register(parser.add_subparsers(dest="command"))
    init = parser.parse_args(argv)
    init.handler(init)
