"""The command line does not depend on the HTTP layer.

``lotledger`` commands (``api/cli.py``, ``api/commands/``) and the HTTP routes share logic
through modules that know nothing of HTTP (``api/labelling.py``, ``ledger``, ``labels``),
never by one importing the other's routers. Imports are read from the source, those inside
functions and ``if TYPE_CHECKING:`` blocks included.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
API = REPO / "api"
CLI_MODULES = [API / "cli.py", *sorted((API / "commands").glob("*.py"))]
# Modules both sides use; they raise domain errors and shape no HTTP answer.
SHARED = [API / "labelling.py"]
HTTP = ("fastapi", "starlette", "api.routers", "api.errors", "api.deps", "api.app")


def imported(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every absolute import in ``path``, ``from a import b`` as ``a.b``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def offenders(paths: list[Path], banned: tuple[str, ...]) -> list[str]:
    return [
        f"{path.name}:{line} imports {name}"
        for path in paths
        for line, name in imported(path)
        if any(name == b or name.startswith(b + ".") for b in banned)
    ]


def test_the_cli_imports_no_router() -> None:
    assert len(CLI_MODULES) > 5  # the commands are where this test looks for them
    # ``serve`` starts the app (api.app) and so may import it; no command reaches a router.
    assert offenders(CLI_MODULES, ("api.routers",)) == []


def test_shared_modules_know_no_http() -> None:
    assert offenders(SHARED, HTTP) == []


def test_the_check_sees_an_offending_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from api.routers.labels import lot_label\n"
        "def f() -> None:\n"
        "    import fastapi\n"
    )
    assert [o.rsplit(" ", 1)[1] for o in offenders([bad], HTTP)] == [
        "api.routers.labels.lot_label",
        "fastapi",
    ]
