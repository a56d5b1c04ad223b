"""ledger/'s imports point one way only, downward, and form no cycle.

Every module's imports are read from its source (as tests/test_verifier_isolation.py does),
those inside functions and ``if TYPE_CHECKING:`` blocks included: a lazy or type-only import
that points up is still an upward dependency. The layers, highest first, are below; a module
may import its own package and any package of a lower layer, never one beside or above it.
``kernel`` is the top-level modules (``ledger/config.py``, ``errors``, ``ids``, ...), which
import only the standard library, third parties and ``verifier``. Nothing inside ``ledger/``
imports the package face, ``ledger/__init__.py``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import ledger

LAYERS = [
    ("demo",),
    ("trace", "inventory", "epcis", "tiles"),
    ("log",),
    ("projections",),
    ("masterdata", "lineage"),
    ("events",),
    ("storage",),
    ("kernel",),
]
REPO = Path(__file__).resolve().parent.parent
LEDGER = REPO / "ledger"
RANK = {pkg: rank for rank, layer in enumerate(reversed(LAYERS)) for pkg in layer}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(LEDGER.rglob("*.py")) if "migrations" not in p.parts}


def package(module: str) -> str:
    """The layer package of a ``ledger`` module: ``ledger.log.tree`` -> ``log``."""
    parts = module.split(".")
    if len(parts) > 2 or (len(parts) == 2 and parts[1] in RANK):
        return parts[1]
    return "kernel"


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every ledger module ``path`` imports."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "ledger"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] != "ledger":
                continue
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.append((node.lineno, sub if sub in MODULES else node.module))
    return found


def test_the_layer_table_names_every_package() -> None:
    packages = {p.name for p in LEDGER.iterdir() if (p / "__init__.py").exists()}
    packages.discard("migrations")
    assert packages == set(RANK) - {"kernel"}


def test_imports_point_downward() -> None:
    offenders = []
    for name, path in MODULES.items():
        if name == "ledger":
            continue  # the face imports from every package
        here = package(name)
        for line, target in imports(path):
            where = f"{path.relative_to(REPO)}:{line} imports {target}"
            if target == "ledger":
                offenders.append(f"{where} (the package face; import by full path)")
                continue
            there = package(target)
            if there != here and RANK[there] >= RANK[here]:
                side = "beside" if RANK[there] == RANK[here] else "above"
                offenders.append(f"{where} ({there} is {side} {here})")
    assert offenders == []


def test_no_import_cycle() -> None:
    graph = {
        name: sorted({t for _, t in imports(path) if t in MODULES and t != "ledger"} - {name})
        for name, path in MODULES.items()
        if name != "ledger"
    }
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node)
    assert [" -> ".join(c) for c in cycles] == []


def test_the_face_exports_what_it_names() -> None:
    assert ledger.__all__ == sorted(ledger.__all__)
    missing = [n for n in ledger.__all__ if not hasattr(ledger, n)]
    assert missing == []
    assert ledger.Ledger.__module__ == "ledger.log.service"
    # importing ledger.<package>.x sets ledger.<package>: a face name must not be one
    assert set(ledger.__all__).isdisjoint(RANK)
