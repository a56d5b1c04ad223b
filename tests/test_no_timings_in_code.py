"""Measured timings live in BENCHMARKS.md and docs/benchmarks-history.md, not in the code.

A figure in a comment or docstring goes stale the day the code around it changes, and
nothing re-measures it. The code says why a choice was made, in words, and points at the
benchmark pages; this test reads every comment and docstring of ledger/, api/, labels/ and
verifier/ and fails on the shapes measured figures take ("about 5 ms", "~30 ms of CPU",
"4 times faster", "12,000 events/s", "a tenth of the time"). Settings and protocol values
("sleeps up to 100 ms", "a 65 s keep-alive") are not measurements and are not matched.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("ledger", "api", "labels", "verifier")
MEASURED = re.compile(
    r"\babout ~?\d[\d.,]*\s?(ms|µs|μs|ns|s)\b"
    r"|~\d[\d.,]*\s?(ms|µs|μs|ns)\b"
    r"|\d[\d.,]*\s?(x|×|times) (faster|slower|quicker)"
    r"|\d[\d,.]*\s?k? ?(events|rows|requests|entries|lots)/s\b"
    r"|\b(a|one) (tenth|fifth|sixth|quarter|third|half) of "
    r"(its |the |level \d's )?(time|cost|CPU)\b",
    re.IGNORECASE,
)


def notes(path: Path) -> Iterator[tuple[int, str]]:
    """(line, text) of every comment and every docstring line of a module."""
    source = path.read_text(encoding="utf-8")
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            yield token.start[0], token.string
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        for stmt in body:  # docstrings, and the attribute docstrings after assignments
            if (
                isinstance(stmt, ast.Expr)
                and isinstance(stmt.value, ast.Constant)
                and isinstance(stmt.value.value, str)
            ):
                for i, line in enumerate(stmt.value.value.splitlines()):
                    yield stmt.lineno + i, line


def figures(paths: list[Path]) -> list[str]:
    # Joined with the next line too: a figure may be wrapped ("about 13\nms").
    found = []
    for path in paths:
        lines = sorted(notes(path))
        for (line, text), (_, after) in zip(lines, [*lines[1:], (0, "")], strict=True):
            joined = f"{text.strip()} {after.strip().lstrip('#').strip()}"
            match = MEASURED.search(joined)
            if match is not None and match.start() < len(text.strip()):
                found.append(f"{path.name}:{line}: {text.strip()}")
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_no_measured_timings_in_comments(package: str) -> None:
    paths = sorted((REPO / package).rglob("*.py"))
    assert paths
    assert figures(paths) == []


def test_the_check_finds_a_figure(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        '"""Fast: about 13 ms for a URI."""\n'
        "X = 1  # the busy handler sleeps up to 100 ms at a time\n"
        "Y = 2  # a batch takes about 5\n"
        "# ms of CPU, and the new path is 4 times faster\n"
        'Z = 3\n"""Attribute docs: 12,000 events/s."""\n'
    )
    assert [f.split(":")[1] for f in figures([module])] == ["1", "3", "4", "6"]
