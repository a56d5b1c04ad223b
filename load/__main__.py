"""``python -m load run [--users N] [--duration S] [--database-url URL] [--workers N]``:
a load test of a freshly seeded service (see ``load/runner.py``). Benchmarks are
``python -m load.bench NAME [--json]``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from load import runner


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m load", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "run",
        help="start the service, run locust headless against it, check targets, audit the log",
        description=runner.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    runner.add_arguments(run)
    run.set_defaults(handler=runner.run)
    args = parser.parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
