"""The verifier installs alone: importing it must not pull in the server's stack."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

FORBIDDEN = ("sqlalchemy", "fastapi", "pydantic", "starlette", "alembic", "psycopg", "uvicorn")
MODULES = (
    "verifier",
    "verifier.canonical",
    "verifier.compact",
    "verifier.errors",
    "verifier.hashing",
    "verifier.note",
    "verifier.proofs",
)
REPO = Path(__file__).resolve().parent.parent

PROGRAM = f"""
import importlib, json, sys
for name in {MODULES!r}:
    importlib.import_module(name)
loaded = sorted({{m.split(".")[0] for m in sys.modules}})
print(json.dumps(loaded))
"""


def test_verifier_imports_no_server_packages() -> None:
    result = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(REPO)!r})\n{PROGRAM}"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        timeout=60,
    )
    loaded = set(json.loads(result.stdout))
    assert "verifier" in loaded  # the probe really imported the package
    assert {"cryptography", "rfc8785"} <= loaded
    assert loaded.isdisjoint(FORBIDDEN), sorted(loaded & set(FORBIDDEN))


def test_verifier_sources_import_only_allowed_packages() -> None:
    allowed = set(sys.stdlib_module_names) | {"cryptography", "rfc8785", "verifier", "__future__"}
    offenders = []
    for path in sorted((REPO / "verifier").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] not in allowed]
    assert offenders == []
