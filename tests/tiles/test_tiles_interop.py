# ruff: noqa: F811 - pytest fixtures imported by name are parameters of the tests
"""A tlog client we did not write verifies our tiles: Go's ``golang.org/x/mod/sumdb/tlog``
and ``sumdb/note`` (Debian's golang-go and golang-golang-x-mod-dev), through the small
program in ``tests/interop/tlogcheck``, built offline against ``/usr/share/gocode``.

It opens our checkpoint with a note verifier made from our key, reads the hash tiles with
``tlog.TileHashReader`` (which checks each against the signed root), proves every entry's
inclusion and an older tree's consistency, and hashes every entry of the bundles. From a
running ``lotledger serve`` and from a ``tiles sync`` directory; the two hold the same
bytes. Without a Go toolchain the test is skipped on a developer's machine and fails in CI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from ledger import Ledger
from ledger.tiles import sync_directory
from tests.api_fixtures import Keys, api_keys  # noqa: F401 - fixture
from tests.tiles.test_tiles import SIZE, files_of, served_tiles, tiled  # noqa: F401 - fixtures

SOURCE = Path(__file__).resolve().parent.parent / "interop" / "tlogcheck"
GOPATH = Path("/usr/share/gocode")
OLD = 300  # the older tree the consistency proof starts from


@pytest.fixture(scope="module")
def tlogcheck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Go program, built in a temporary directory with no network."""
    go = shutil.which("go")
    have_mod = (GOPATH / "src/golang.org/x/mod/sumdb/tlog").is_dir()
    if go is None or not have_mod:
        missing = "go (golang-go)" if go is None else "golang-golang-x-mod-dev"
        message = f"{missing} is not installed: apt-get install golang-go golang-golang-x-mod-dev"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    out = tmp_path_factory.mktemp("go")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(out),
        "GOPATH": str(GOPATH),
        "GO111MODULE": "off",  # GOPATH mode: Debian's sources, nothing downloaded
        "GOFLAGS": "",
        "GOPROXY": "off",
        "GOCACHE": str(out / "cache"),
        "CGO_ENABLED": "0",
    }
    built = subprocess.run(
        [go, "build", "-o", str(out / "tlogcheck"), "."],
        cwd=SOURCE,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    return out / "tlogcheck"


def check(binary: Path, ledger: Ledger, base: str, *extra: str) -> subprocess.CompletedProcess[str]:
    args = [str(binary), "-base", base, "-vkey", str(ledger.verifier_key), "-entries"]
    args += ["-old-size", str(OLD), "-old-root", ledger.root(OLD).hex(), *extra]
    return subprocess.run(args, capture_output=True, text=True, check=False, timeout=300)


def test_gos_tlog_verifies_our_server_and_our_static_tiles(
    tlogcheck: Path, tiled: Ledger, served_tiles: str, api_keys: Keys, tmp_path: Path
) -> None:
    root = tiled.latest_checkpoint()[1].hex()
    done = check(tlogcheck, tiled, served_tiles, "-api-key", api_keys.regulator)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"OK {tiled.origin} size {SIZE} root {root}")
    assert f"{SIZE} inclusion proofs, consistency from {OLD}, {SIZE} entries" in done.stdout

    mirror = tmp_path / "mirror"
    sync_directory(tiled, mirror, entries=True)
    done = check(tlogcheck, tiled, str(mirror))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"OK {tiled.origin} size {SIZE} root {root}")

    # The directory holds exactly what the server answers, byte for byte.
    headers = {"Authorization": f"Bearer {api_keys.regulator}"}
    files = files_of(mirror)
    assert len(files) == 8  # checkpoint, 4 hash tiles, 3 bundles
    for path, data in files.items():
        answer = httpx.get(f"{served_tiles}/{path}", headers=headers)
        assert answer.status_code == 200, path
        assert answer.content == data, path

    # One flipped bit in a hash tile, or one changed byte in an entry: Go's client refuses.
    def flip(data: bytes) -> bytes:
        return data[: 100 * 32 + 7] + bytes([data[100 * 32 + 7] ^ 1]) + data[100 * 32 + 8 :]

    for name, path, change, says in [
        ("bad-tile", "tile/0/001", flip, "FAILED"),
        ("bad-entry", "tile/entries/000", lambda b: b.replace(b'"T10"', b'"T1X"', 1),
         "entry 10 does not hash to its record"),
    ]:  # fmt: skip
        bad = tmp_path / name
        shutil.copytree(mirror, bad)
        (bad / path).write_bytes(change((bad / path).read_bytes()))
        done = check(tlogcheck, tiled, str(bad))
        assert done.returncode == 1, name
        assert says in done.stderr, name

    # A checkpoint signed by another key is refused before any tile is read.
    other = tmp_path / "other"
    shutil.copytree(mirror, other)
    note = (other / "checkpoint").read_text()
    (other / "checkpoint").write_text(note.replace(f"{SIZE}\n", f"{SIZE + 1}\n", 1))
    done = check(tlogcheck, tiled, str(other))
    assert done.returncode == 1
    assert "checkpoint signature" in done.stderr
