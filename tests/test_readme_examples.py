"""The README's shell examples, run for real: a change that breaks one fails here.

Every fenced block in README.md whose language is ``sh``, ``bash``, ``shell`` or
``console`` is an example. The test loads the demo into a fresh data directory with
``lotledger demo`` (on the engine under test), starts ``lotledger serve`` on it on a free
port, and runs each block, in README order, with bash in one scratch directory:

* the shell first evaluates the ``export`` lines the demo printed, exactly as a reader
  pastes them (``$LOTLEDGER_URL`` is the test's server; ``$STORE_KEY``, ``$LOG_KEY``,
  ``$SALAD_LOT``... are the demo's), under ``set -euo pipefail``; the demo's whole output
  is also in ``demo.env`` there, as the README's ``lotledger demo > demo.env`` leaves it;
* ``curl`` fails on an HTTP error (``--fail-with-body``), so an example answering 404 fails;
* ``lotledger``, ``lotledger-verify`` and ``.venv/bin/...`` are this checkout's, and
  ``LOTLEDGER_DATA_DIR``/``LOTLEDGER_DATABASE_URL`` name the served ledger, as they would
  for a reader working in the directory the service runs in;
* a ``console`` block runs its ``$ `` lines (and their ``\\`` continuations); the other
  lines are output and are not checked.

A block that must not run (``make run``, a server that never exits, a minutes-long load
test) is preceded by ``<!-- readme-test: skip REASON -->``; the reason is required. A
block that exits non-zero fails its test with the README line of the failing command.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ledger import Settings
from tests.api_fixtures import serve
from tests.conftest import fresh_database

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
LANGUAGES = frozenset({"sh", "bash", "shell", "console"})
BLOCK_TIMEOUT_S = 180
_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)[^`]*$")
_SKIP = re.compile(r"^\s*<!--\s*readme-test:\s*skip\b(?P<reason>.*?)-->\s*$")
_ERR_TRAP = (
    "trap 'echo \"readme-test: README.md line $((README_BLOCK_LINE + LINENO)) exited $?:"
    " $BASH_COMMAND\" >&2' ERR"
)


@dataclass(frozen=True, slots=True)
class Block:
    """One example: ``line`` is the README line of its opening fence; line ``k`` of
    ``script`` is README line ``line + k``."""

    line: int
    language: str
    script: str
    skip: str | None  # the reason given, when the block is marked to be skipped

    @property
    def name(self) -> str:
        return f"README.md:{self.line}"


def readme_blocks(text: str) -> list[Block]:
    """The shell examples of a Markdown text, in order."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        fence, indent = opening["fence"], len(opening["indent"])
        language = opening["info"].lower()
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            closing = lines[j].strip()
            if closing.startswith(fence[0] * len(fence)) and not closing.strip(fence[0]):
                break
            raw = lines[j]
            body.append(raw[min(indent, len(raw) - len(raw.lstrip(" "))) :])
            j += 1
        if language in LANGUAGES:
            script = _console_script(body) if language == "console" else "\n".join(body)
            blocks.append(Block(i + 1, language, script + "\n", _skip_reason(lines, i)))
        i = j + 1
    return blocks


def _skip_reason(lines: list[str], fence: int) -> str | None:
    k = fence - 1
    while k >= 0 and not lines[k].strip():
        k -= 1
    marker = _SKIP.match(lines[k]) if k >= 0 else None
    return marker["reason"].strip(" :-—") if marker else None


def _console_script(body: list[str]) -> str:
    """The commands of a console block, each on its own README line (output lines blank)."""
    out: list[str] = []
    continued = False
    for raw in body:
        if continued:
            out.append(raw)
        elif raw.startswith("$ "):
            out.append(raw[2:])
        else:
            out.append("")
            continue
        continued = raw.rstrip().endswith("\\")
    return "\n".join(out)


@dataclass(frozen=True, slots=True)
class Shell:
    """Where the examples run: a scratch directory, an environment, a prelude file."""

    cwd: Path
    env: dict[str, str]
    prelude: Path


def make_shell(scratch: Path, exports: str, extra_env: dict[str, str]) -> Shell:
    """A shell as a reader has it after pasting the demo's ``exports`` into it."""
    scratch.mkdir(parents=True, exist_ok=True)
    bindir = Path(sys.executable).parent
    venv = scratch / ".venv"
    venv.mkdir(exist_ok=True)
    if not (venv / "bin").exists():
        (venv / "bin").symlink_to(bindir, target_is_directory=True)
    home = scratch / "home"
    home.mkdir(exist_ok=True)
    prelude = scratch / ".readme-test-prelude.sh"
    prelude.write_text(f"{exports}\n{_ERR_TRAP}\n", encoding="utf-8")
    # curl that fails on an HTTP error: a program on PATH rather than a shell function, so
    # that the failing command is the README's own line.
    real_curl = shutil.which("curl")
    assert real_curl is not None, "the README's examples need curl"
    wrappers = scratch / ".readme-test-bin"
    wrappers.mkdir(exist_ok=True)
    curl = wrappers / "curl"
    curl.write_text(
        f'#!/bin/sh\nexec {shlex.quote(real_curl)} --fail-with-body --silent --show-error "$@"\n',
        encoding="utf-8",
    )
    curl.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOTLEDGER_")}
    path = os.pathsep.join([str(wrappers), str(bindir), env.get("PATH", "/usr/bin:/bin")])
    env |= {"PATH": path, "HOME": str(home)}
    env |= extra_env
    return Shell(scratch, env, prelude)


def run_block(shell: Shell, block: Block, timeout: float = BLOCK_TIMEOUT_S) -> str | None:
    """Run one example; None when it succeeded, else what a reader needs to fix it."""
    script = shell.cwd / f".readme-block-{block.line}.sh"
    script.write_text(block.script, encoding="utf-8")
    env = shell.env | {"BASH_ENV": str(shell.prelude), "README_BLOCK_LINE": str(block.line)}
    proc = subprocess.Popen(
        ["bash", "-e", "-u", "-o", "pipefail", str(script)],
        cwd=shell.cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        return (
            f"README.md line {block.line}: the {block.language} block did not finish in"
            f" {timeout:g} s (mark it '<!-- readme-test: skip REASON -->' if it must not run)"
            f"\n--- stdout ---\n{out[-3000:]}\n--- stderr ---\n{err[-3000:]}"
        )
    if proc.returncode == 0:
        return None
    where = re.findall(r"readme-test: (README\.md line \d+ exited \d+: .*)", err)
    head = where[-1] if where else f"README.md line {block.line}: exited {proc.returncode}"
    return (
        f"{head}\n(the {block.language} block at README.md line {block.line})"
        f"\n--- stdout ---\n{out[-3000:]}\n--- stderr ---\n{err[-3000:]}"
    )


BLOCKS = readme_blocks(README.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def readme_shell(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shell]:
    """The demo loaded into a fresh ledger, served by a real ``lotledger serve``, and a
    shell holding the demo's printed exports."""
    directory = tmp_path_factory.mktemp("readme")
    scratch = directory / "work"
    with fresh_database(directory) as url:
        settings = Settings(scratch / "lotledger-data", url, "readme.test/log", None, None)
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOTLEDGER_")}
        demo = subprocess.run(
            [sys.executable, "-m", "api.cli", "demo", "--data-dir", str(settings.data_dir),
             "--database-url", url],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert demo.returncode == 0, demo.stderr
        exports = "\n".join(x for x in demo.stdout.splitlines() if x.startswith("export "))
        scratch.mkdir(parents=True, exist_ok=True)
        (scratch / "demo.env").write_text(demo.stdout, encoding="utf-8")  # "demo > demo.env"
        for base in serve(settings, workers=1):
            extra = {
                "LOTLEDGER_URL": base,
                "LOTLEDGER_DATA_DIR": str(settings.data_dir),
                "LOTLEDGER_DATABASE_URL": url,
            }
            yield make_shell(scratch, exports, extra)


@pytest.mark.parametrize("block", BLOCKS, ids=[b.name for b in BLOCKS])
def test_readme_example(readme_shell: Shell, block: Block) -> None:
    if block.skip is not None:
        pytest.skip(f"marked in the README: {block.skip}")
    failure = run_block(readme_shell, block)
    if failure is not None:
        pytest.fail(failure, pytrace=False)


def test_the_readme_has_examples_and_every_skip_says_why() -> None:
    runnable = [b for b in BLOCKS if b.skip is None]
    assert len(runnable) >= 3, [b.name for b in BLOCKS]
    assert all(b.skip for b in BLOCKS if b.skip is not None), [
        b.name for b in BLOCKS if b.skip == ""
    ]
    # Placeholders a shell would misread (``<lot>`` is a redirection) have no place in them.
    for b in runnable:
        assert not re.search(r"<[a-z][a-z _-]*>", b.script), (b.name, b.script)


# -- the harness itself ---------------------------------------------------------------


def failed(outcome: str | None) -> str:
    assert outcome is not None, "the block should have failed"
    return outcome


SAMPLE = """\
# Title

```sh
echo one
```

Text.

<!-- readme-test: skip serves forever -->
```bash
lotledger serve
```

```json
{"not": "shell"}
```

   ```console
   $ echo two \\
   >   three
   two three
   $ false
   ```

<!-- readme-test: skip -->

~~~shell
echo four
~~~
"""


def test_blocks_are_found_with_their_lines_languages_and_skips() -> None:
    blocks = readme_blocks(SAMPLE)
    assert [(b.line, b.language, b.skip) for b in blocks] == [
        (3, "sh", None),
        (10, "bash", "serves forever"),
        (18, "console", None),
        (27, "shell", ""),
    ]
    assert blocks[0].script == "echo one\n"
    # Output lines become blank lines, so that line k of the script is README line 18 + k.
    assert blocks[2].script.splitlines() == ["echo two \\", ">   three", "", "false"]


def test_a_failing_block_is_reported_with_its_readme_line(tmp_path: Path) -> None:
    shell = make_shell(tmp_path, "export GREETING=hello", {})
    ok = Block(40, "sh", 'test "$GREETING" = hello\n', None)
    assert run_block(shell, ok) is None
    failing = Block(40, "sh", "true\n# a comment\ntest -f no-such-file\necho never\n", None)
    failure = failed(run_block(shell, failing))
    assert failure.startswith("README.md line 43 exited 1: test -f no-such-file"), failure
    unset = failed(run_block(shell, Block(7, "sh", 'echo "$NOT_EXPORTED"\n', None)))
    assert "NOT_EXPORTED: unbound variable" in unset, unset
    console = failed(run_block(shell, readme_blocks(SAMPLE)[2]))
    assert console.startswith("README.md line 22 exited 1: false"), console
    hung = failed(run_block(shell, Block(3, "sh", "sleep 30\n", None), timeout=1))
    assert "did not finish in 1 s" in hung, hung


def test_the_demo_shell_reaches_the_service_and_an_http_error_fails(readme_shell: Shell) -> None:
    ok = Block(5, "sh", 'curl -H "Authorization: Bearer $STORE_KEY" "$LOTLEDGER_URL/v1/me"\n', None)
    assert run_block(readme_shell, ok) is None
    missing = 'curl -H "Authorization: Bearer $REGULATOR_KEY" "$LOTLEDGER_URL/v1/lots/$SALAD/NOPE"'
    failure = failed(run_block(readme_shell, Block(5, "sh", f"echo start\n{missing}\n", None)))
    assert failure.startswith("README.md line 7 exited 22"), failure
    assert "not-found" in failure  # the problem body is shown
