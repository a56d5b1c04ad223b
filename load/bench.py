"""Benchmarks: ``python -m load.bench NAME [--json]`` prints one object of figures.

Each benchmark lives in ``load/bench_<name>.py`` and exposes
``run(args: argparse.Namespace) -> dict[str, object]`` plus an optional
``add_arguments(parser)``. Figures are measured, never asserted: BENCHMARKS.md
records them with the machine they came from.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
from typing import Any

BENCHMARKS = [
    "append",
    "proofs",
    "audit",
    "http-ingest",
    "reads",
    "trace",
    "inventory",
    "labels",
    "merkle",
    "xlsx",
    "tiles",
]


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m load.bench", description=__doc__)
    parser.add_argument("name", choices=[*BENCHMARKS, "all"])
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    known, rest = parser.parse_known_args(argv)
    names = BENCHMARKS if known.name == "all" else [known.name]
    figures: dict[str, Any] = {}
    for name in names:
        module = importlib.import_module(f"load.bench_{name.replace('-', '_')}")
        sub = argparse.ArgumentParser(prog=f"python -m load.bench {name}")
        if hasattr(module, "add_arguments"):
            module.add_arguments(sub)
        args, _ = sub.parse_known_args(rest)
        args.quiet = known.json
        result = module.run(args)
        if known.name == "all":
            figures[name] = result
        else:
            figures.update(result)
    figures["machine"] = machine()
    if known.json:
        print(json.dumps(figures, sort_keys=True))
    else:
        for key, value in figures.items():
            print(f"{key:32} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
