# ruff: noqa: F811 - pytest fixtures imported by name are parameters of the tests
"""The log as C2SP tlog-tiles: paths, widths and bundles as the spec defines them; tiles
served over HTTP equal to the tree the oracle builds; ``lotledger tiles sync`` writes the
same bytes, incrementally."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger import Ledger, Settings
from ledger.tiles import sync_directory
from tests.api_fixtures import ApiClient, Keys, api_keys, client, serve  # noqa: F401 - fixtures
from tests.conftest import Events
from tests.oracle import leaf_hash, mth
from verifier.errors import FormatError
from verifier.note import verify_checkpoint
from verifier.tiles import (
    Tile,
    decode_bundle,
    encode_bundle,
    encode_index,
    entry_bundles,
    parse_index,
    tiles_of_tree,
)

ROOT = Path(__file__).resolve().parents[2]
FULL = "public, max-age=31536000, immutable"


# -- the spec's definitions -------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "path"),
    [(0, "000"), (7, "007"), (999, "999"), (1000, "x001/000"), (1234067, "x001/x234/067")],
)
def test_tile_indexes_are_x_grouped_3_digit_path_elements(index: int, path: str) -> None:
    assert encode_index(index) == path
    assert parse_index(path) == index


@pytest.mark.parametrize("bad", ["1", "0001", "x001", "001/002", "x000/001", "x01/002", "abc"])
def test_a_path_that_is_not_a_canonical_index_is_refused(bad: str) -> None:
    with pytest.raises(FormatError):
        parse_index(bad)


def test_the_spec_example_tree_of_70000_entries() -> None:
    tiles = list(tiles_of_tree(70_000))
    level0 = [t for t in tiles if t.level == 0]
    assert len([t for t in level0 if t.full]) == 273
    assert [t.width for t in level0 if not t.full] == [112]
    assert [(t.index, t.width) for t in tiles if t.level == 1] == [(0, 256), (1, 17)]
    assert [(t.index, t.width) for t in tiles if t.level == 2] == [(0, 1)]
    assert Tile(1, 1, 17).path == "tile/1/001.p/17"
    # A tree of 256: one full level-0 tile and a level-1 tile of width 1.
    assert [t.path for t in tiles_of_tree(256)] == ["tile/0/000", "tile/1/000.p/1"]
    assert list(tiles_of_tree(0)) == []


def test_entry_bundles_are_uint16_length_prefixed() -> None:
    assert encode_bundle([b"ab", b""]) == b"\x00\x02ab\x00\x00"
    assert decode_bundle(b"\x00\x02ab\x00\x00", 2, "x") == [b"ab", b""]
    for cut in (b"\x00\x02a", b"\x00"):
        with pytest.raises(FormatError):
            decode_bundle(cut, 1, "x")
    with pytest.raises(FormatError, match="2 entries in the bundle, expected 3"):
        decode_bundle(b"\x00\x02ab\x00\x00", 3, "x")
    with pytest.raises(ValueError, match="uint16"):
        encode_bundle([bytes(70_000)])
    assert [t.path for t in entry_bundles(300, 600)] == [
        "tile/entries/001",
        "tile/entries/002.p/88",
    ]


# -- tiles over HTTP --------------------------------------------------------------------

SIZE = 600  # two full level-0 tiles and one of 88; a level-1 tile of 2


def grow(ledger: Ledger, ev: Events, count: int, prefix: str = "T") -> None:
    done = 0
    while done < count:
        n = min(250, count - done)
        ledger.append([ev.register(f"{prefix}{done + i}") for i in range(n)], actor="farm")
        done += n


@pytest.fixture
def tiled(world: Ledger, ev: Events) -> Ledger:
    grow(world, ev, SIZE)
    return world


@pytest.fixture
def served_tiles(tiled: Ledger, settings: Settings) -> Iterator[str]:
    """The tiled log behind a real ``lotledger serve`` process."""
    yield from serve(settings, workers=1)


def leaves_of(ledger: Ledger) -> list[bytes]:
    return [leaf_hash(e.leaf_bytes) for e in ledger.entries(0, ledger.size())]


def test_hash_tiles_are_the_trees_hashes(tiled: Ledger, client: ApiClient) -> None:
    leaves = leaves_of(tiled)
    r = client.get("/tile/0/000")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["cache-control"] == FULL
    assert r.content == b"".join(leaves[:256])
    assert client.get("/tile/0/001").content == b"".join(leaves[256:512])

    r = client.get("/tile/0/002.p/88")
    assert r.content == b"".join(leaves[512:600])
    assert r.headers["cache-control"] == "public, max-age=60"
    # A narrower partial tile is a prefix of the wider one (the tree at a smaller size).
    assert client.get("/tile/0/002.p/5").content == b"".join(leaves[512:517])
    # Level 1: the roots of the full level-0 tiles.
    level1 = client.get("/tile/1/000.p/2").content
    assert level1 == mth(leaves[:256]) + mth(leaves[256:512])

    r = client.get("/checkpoint")
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.headers["cache-control"] == "no-cache"
    checkpoint = verify_checkpoint(r.text, tiled.verifier_key)
    assert (checkpoint.size, checkpoint.root_hash) == (SIZE, mth(leaves))


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/tile/0/002", "needs a tree of at least 768 entries"),
        ("/tile/0/002.p/89", "needs a tree of at least 601 entries"),
        ("/tile/1/000", "each of its hashes covers 256 leaves"),
        ("/tile/2/000.p/1", "at least 65,536"),
        ("/tile/0/x000/001", "not the canonical path"),
        ("/tile/0/01", "not a tile index"),
        ("/tile/0/000.p/0", "1 to 255 wide"),
        ("/tile/0/000.p/256", "1 to 255 wide"),
        ("/tile/0/000.p/07", "not a partial tile width"),
        ("/tile/64/000", "not a tile level"),
        ("/tile/01/000", "not a tile level"),
    ],
)
def test_tiles_that_do_not_exist_are_404_problems(
    tiled: Ledger, client: ApiClient, path: str, says: str
) -> None:
    r = client.get(path)
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert says in r.json()["detail"]


def test_entry_bundles_need_an_admin_or_regulator_key(
    tiled: Ledger, client: ApiClient, api_keys: Keys
) -> None:
    assert client.get("/tile/entries/000").status_code == 401
    r = client.get("/tile/entries/000", key=api_keys.store)
    assert r.status_code == 403
    assert "store key may not" in r.json()["detail"]
    stored = tiled.entries(0, SIZE)
    for key in (api_keys.regulator, api_keys.admin):
        r = client.get("/tile/entries/001", key=key)
        assert r.status_code == 200
        assert r.headers["cache-control"] == FULL
        assert decode_bundle(r.content, 256, "bundle 1") == [e.leaf_bytes for e in stored[256:512]]
    partial = client.get("/tile/entries/002.p/88", key=api_keys.regulator)
    bundle = decode_bundle(partial.content, 88, "bundle 2")
    assert [leaf_hash(b) for b in bundle] == leaves_of(tiled)[512:]
    assert client.get("/tile/entries/003", key=api_keys.regulator).status_code == 404


# -- static files -----------------------------------------------------------------------


def files_of(directory: Path) -> dict[str, bytes]:
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_sync_writes_what_the_server_serves_and_is_incremental(
    tiled: Ledger, client: ApiClient, api_keys: Keys, ev: Events, tmp_path: Path
) -> None:
    out = tmp_path / "tiles"
    report = sync_directory(tiled, out)
    files = files_of(out)
    assert sorted(files) == [
        "checkpoint",
        "tile/0/000",
        "tile/0/001",
        "tile/0/002.p/88",
        "tile/1/000.p/2",
    ]
    assert (report.tree_size, report.written, report.kept) == (SIZE, 4, 0)
    for path, data in files.items():
        assert client.get(f"/{path}").content == data, path

    # Nothing new: nothing written, the checkpoint is the same.
    again = sync_directory(tiled, out)
    assert (again.written, again.kept, again.removed) == (0, 2, 0)
    assert files_of(out) == files

    # The log grows past a tile boundary: the full tiles are left alone (same inode, same
    # time), the new ones written, and the partials the new tree does not name removed.
    before = {p: os.stat(out / p) for p in ("tile/0/000", "tile/0/001")}
    grow(tiled, ev, 200, prefix="U")
    grown = sync_directory(tiled, out, entries=True)
    assert grown.tree_size == 800
    names = sorted(files_of(out))
    assert "tile/0/002.p/88" not in names
    for name in ("tile/0/002", "tile/0/003.p/32", "tile/1/000.p/3", "tile/entries/003.p/32"):
        assert name in names
    assert grown.removed == 2  # 0/002.p/88 and 1/000.p/2
    for p, st in before.items():
        now = os.stat(out / p)
        assert (now.st_ino, now.st_mtime_ns) == (st.st_ino, st.st_mtime_ns), p
    for path, data in files_of(out).items():
        answer = client.get(f"/{path}", key=api_keys.regulator)
        assert answer.content == data, path
    assert verify_checkpoint((out / "checkpoint").read_text(), tiled.verifier_key).size == 800
    assert not list(out.rglob(".tile-*")), "no temporary files left behind"


def test_the_sync_command(tiled: Ledger, settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "static"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOTLEDGER_")}
    args = [sys.executable, "-m", "api.cli", "tiles", "sync", str(out)]
    args += ["--data-dir", str(settings.data_dir), "--database-url", settings.database_url]
    done = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "tree size 600, 4 tiles written" in done.stdout
    assert not (out / "tile" / "entries").exists()  # contents only when asked
    assert (out / "tile/0/000").read_bytes() == b"".join(leaves_of(tiled)[:256])

    missing = subprocess.run(
        [sys.executable, "-m", "api.cli", "tiles", "sync", str(out), "--data-dir",
         str(tmp_path / "nowhere")],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert missing.returncode == 2
    assert "nowhere" in missing.stderr


def test_an_empty_log_has_a_checkpoint_and_no_tiles(world: Ledger, client: ApiClient) -> None:
    r = client.get("/checkpoint")
    assert verify_checkpoint(r.text, world.verifier_key).size == 0
    assert client.get("/tile/0/000.p/1").status_code == 404


def test_an_entry_too_long_for_a_bundle_is_a_409_that_says_where_to_read_it(
    world: Ledger, ev: Events, client: ApiClient, api_keys: Keys
) -> None:
    reading = {"sensor": "temperature", "value": "4.5", "unit": "Cel", "time": Events.time}
    observe = ev._base("observe", "farm-field-1", readings=[reading] * 1000)
    world.append([observe], actor="farm")
    assert len(world.entries(0, 1)[0].leaf_bytes) > 65_535
    r = client.get("/tile/entries/000.p/1", key=api_keys.regulator)
    assert r.status_code == 409
    assert r.headers["content-type"] == "application/problem+json"
    assert "entry 0 is" in r.json()["detail"]
    assert "/v1/log/entries" in r.json()["detail"]
    # Its hash is in the tree like any other.
    assert client.get("/tile/0/000.p/1").content == leaves_of(world)[0]
