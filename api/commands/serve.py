"""``lotledger serve``: run the HTTP service with uvicorn."""

from __future__ import annotations

import argparse
import os

import uvicorn

from api.app import NO_MIGRATE_ENV
from api.commands import add_database_options, open_ledger


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("serve", help="run the HTTP service (uvicorn)")
    add_database_options(parser)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--workers", type=int, default=1, help="worker processes (several need one database)"
    )
    parser.add_argument("--log-level", default="info")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # Migrate (and create the signing key) once, here, before workers start.
    open_ledger(args).close()
    if args.data_dir:
        os.environ["LOTLEDGER_DATA_DIR"] = args.data_dir
    if args.database_url:
        os.environ["LOTLEDGER_DATABASE_URL"] = args.database_url
    os.environ[NO_MIGRATE_ENV] = "1"
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        access_log=False,
    )
    return 0
