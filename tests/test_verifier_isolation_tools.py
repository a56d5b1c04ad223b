"""The verifier's tools (CLI, audit, bundles, witness, recall, export) install alone too."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

FORBIDDEN = ("sqlalchemy", "fastapi", "pydantic", "starlette", "alembic", "psycopg", "uvicorn")
MODULES = (
    "verifier.cli",
    "verifier.audit",
    "verifier.bundle",
    "verifier.witness",
    "verifier.recall",
    "verifier.export",
)
REPO = Path(__file__).resolve().parent.parent


def test_verifier_tools_import_no_server_packages() -> None:
    program = (
        f"import sys; sys.path.insert(0, {str(REPO)!r})\n"
        "import importlib, json\n"
        f"for name in {MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", program],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        timeout=60,
    )
    loaded = set(json.loads(result.stdout))
    assert {"verifier", "cryptography", "rfc8785"} <= loaded
    assert loaded.isdisjoint(FORBIDDEN), sorted(loaded & set(FORBIDDEN))
