"""The wire formats' specification, verifier/FORMATS.md, is where the verifier and the README
say it is, names the formats and versions the code reads, and its links lead somewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from verifier import bundle, export
from verifier.cli import FORMATS, main

REPO = Path(__file__).resolve().parent.parent.parent
_LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6} (?P<title>.+)$", re.MULTILINE)


def anchor(title: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces to -."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def test_help_names_the_installed_specification(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps the epilog
    assert f"specified in {FORMATS}." in out
    assert FORMATS.is_file()
    assert FORMATS == REPO / "verifier" / "FORMATS.md"


def test_it_specifies_the_formats_the_verifier_reads() -> None:
    titles = _HEADING.findall(FORMATS.read_text(encoding="utf-8"))
    assert "Log endpoint formats" in titles
    assert f"Log export format (`{export.FORMAT}`, version {export.VERSION})" in titles
    assert f"Provenance bundle format (`{bundle.FORMAT}`, version {bundle.VERSION})" in titles


@pytest.mark.parametrize("doc", ["README.md", "verifier/FORMATS.md", "BENCHMARKS.md"])
def test_relative_links_resolve(doc: str) -> None:
    path = REPO / doc
    broken = []
    for match in _LINK.finditer(path.read_text(encoding="utf-8")):
        target = match["target"]
        if "://" in target or target.startswith("mailto:"):
            continue
        file, _, fragment = target.partition("#")
        linked = (path.parent / file).resolve() if file else path
        if not linked.exists():
            broken.append(target)
        elif fragment and linked.suffix == ".md":
            anchors = {anchor(t) for t in _HEADING.findall(linked.read_text(encoding="utf-8"))}
            if fragment not in anchors:
                broken.append(target)
    assert broken == []


def test_the_readme_links_the_specification() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "](verifier/FORMATS.md)" in readme
    # The specification lives in one place: the README no longer spells out the formats.
    assert "## Log export format" not in readme
    assert "## Provenance bundle format" not in readme
