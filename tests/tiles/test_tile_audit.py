# ruff: noqa: F811 - pytest fixtures imported by name are parameters of the tests
"""``lotledger-verify log`` through C2SP tiles: a real ``lotledger serve``, a ``tiles sync``
directory and that directory behind a plain static web server; incremental audits fetch
only the tiles they need, and tampered tiles or bundles fail the audit."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from ledger import Ledger
from ledger.tiles import TileStore, sync_directory
from tests.api_fixtures import Keys, api_keys, free_port  # noqa: F401 - fixture
from tests.conftest import Events
from tests.tiles.test_tiles import SIZE, grow, served_tiles, tiled  # noqa: F401 - fixtures
from verifier.cli import main as verify
from verifier.http import http_fetch
from verifier.tile_audit import audit_tiles, consistency_from_tiles
from verifier.tiles import TileHashes

ROOT = Path(__file__).resolve().parents[2]


def recording(asked: list[str], api_key: str) -> Callable[[str], bytes]:
    def fetch(url: str) -> bytes:
        asked.append(url.split("/", 3)[3])
        return http_fetch(url, api_key=api_key)

    return fetch


def test_consistency_proofs_from_tiles_equal_the_servers(tiled: Ledger, ev: Events) -> None:
    grow(tiled, ev, 100, prefix="C")  # 700: partial tiles at levels 0 and 1
    hashes = TileHashes(700, TileStore(tiled).read)
    for old in (1, 2, 255, 256, 257, 511, 600, 699, 700):
        assert consistency_from_tiles(old, 700, hashes) == tiled.consistency_proof(old, 700), old
    assert len(hashes.fetched) <= 4  # tile/0/000, 0/001, 0/002.p/188, 1/000.p/2


def test_an_incremental_audit_reads_only_the_tiles_it_needs(
    tiled: Ledger, served_tiles: str, api_keys: Keys, ev: Events, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    asked: list[str] = []
    fetch = recording(asked, api_keys.regulator)
    # Interrupted after one bundle: the next run goes on from entry 256.
    cut = audit_tiles(served_tiles, tiled.verifier_key, state_path=state, fetch=fetch,
                      max_bundles=1)  # fmt: skip
    assert (cut.tree_size, cut.entries_checked) == (256, 256)
    first = audit_tiles(served_tiles, tiled.verifier_key, state_path=state, fetch=fetch)
    assert (first.tree_size, first.entries_checked, first.previous_size) == (SIZE, 344, 0)
    assert first.root == tiled.latest_checkpoint()[1]
    assert asked == [
        "checkpoint",
        "tile/entries/000",
        "checkpoint",
        "tile/entries/001",
        "tile/entries/002.p/88",
    ]

    grow(tiled, ev, 200, prefix="N")
    asked.clear()
    report = audit_tiles(served_tiles, tiled.verifier_key, state_path=state, fetch=fetch)
    assert (report.previous_size, report.tree_size, report.entries_checked) == (SIZE, 800, 200)
    bundles = [a for a in asked if a.startswith("tile/entries/")]
    assert bundles == ["tile/entries/002", "tile/entries/003.p/32"]
    # The consistency proof 600 -> 800 from three hash tiles, not the whole tree.
    assert sorted(a for a in asked if a.startswith("tile/") and a not in bundles) == [
        "tile/0/002",
        "tile/0/003.p/32",
        "tile/1/000.p/3",
    ]
    again = audit_tiles(served_tiles, tiled.verifier_key, state_path=state, fetch=fetch)
    assert (again.previous_size, again.entries_checked) == (800, 0)


def run_verify(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = verify(list(args))
    out = capsys.readouterr()
    return code, out.out + out.err


def test_the_cli_audits_a_directory_and_catches_tampering(
    tiled: Ledger, ev: Events, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mirror = tmp_path / "mirror"
    sync_directory(tiled, mirror, entries=True)
    key = str(tiled.verifier_key)
    state = str(tmp_path / "state.json")
    code, said = run_verify("log", str(mirror), "--key", key, "--state", state, capsys=capsys)
    assert code == 0, said
    assert f"VERIFIED log {tiled.origin}: {SIZE} entries" in said

    grow(tiled, ev, 200, prefix="M")
    sync_directory(tiled, mirror, entries=True)
    # A copy of the grown mirror whose hash tile holds a changed old leaf hash.
    bad = tmp_path / "bad-tile"
    shutil.copytree(mirror, bad)
    tile = bytearray((bad / "tile/0/002").read_bytes())
    tile[40 * 32] ^= 1
    (bad / "tile/0/002").write_bytes(bytes(tile))
    kept = Path(state).read_text()
    code, said = run_verify("log", str(bad), "--key", key, "--state", state, capsys=capsys)
    assert code == 1
    assert "do not prove the checkpoint at size 800 consistent" in said
    assert Path(state).read_text() == kept, "a failed audit does not move the state on"

    # A changed entry in a bundle: the entry is named.
    bad = tmp_path / "bad-entry"
    shutil.copytree(mirror, bad)
    bundle = (bad / "tile/entries/003.p/32").read_bytes()
    assert b'"M180"' in bundle  # entry 780: the 181st of the new entries
    (bad / "tile/entries/003.p/32").write_bytes(bundle.replace(b'"M180"', b'"M18X"', 1))
    code, said = run_verify("log", str(bad), "--key", key, "--state", state, capsys=capsys)
    assert code == 1
    assert "FAILED: the log was tampered with" in said
    assert "entry 780" in said, said

    code, said = run_verify("log", str(mirror), "--key", key, "--state", state, capsys=capsys)
    assert code == 0, said
    assert "800 entries" in said
    assert "consistent with the size 600 audited before" in said


@pytest.fixture
def static_server(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """``python -m http.server`` over an empty directory that the test fills."""
    directory = tmp_path / "www"
    directory.mkdir()
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "-d",
         str(directory)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(base, timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield directory, base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_static_mirror_url_is_detected_and_audited(
    tiled: Ledger,
    static_server: tuple[Path, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    directory, base = static_server
    sync_directory(tiled, directory, entries=True)
    key = str(tiled.verifier_key)
    state = str(tmp_path / "state.json")
    code, said = run_verify("log", base, "--key", key, "--state", state, capsys=capsys)
    assert code == 0, said
    assert f"{SIZE} entries, root {tiled.latest_checkpoint()[1].hex()}" in said


def test_entry_bundles_without_a_key_are_a_usage_error(
    tiled: Ledger, served_tiles: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = str(tiled.verifier_key)
    state = str(tmp_path / "state.json")
    args = ["log", served_tiles, "--tiles", "--key", key, "--state", state]
    code, said = run_verify(*args, capsys=capsys)
    assert code == 2
    assert "401" in said
    assert "needs an API key" in said
