"""``sync_directory``: the log's tiles as static files, for any web server or CDN.

The directory gets exactly the paths a tile-serving log answers (``checkpoint``,
``tile/<L>/<N>[.p/<W>]`` and, when asked, ``tile/entries/<N>[.p/<W>]``), byte for byte
what ``lotledger serve`` sends. A sync is incremental: a full tile already on disk is
never read or written again; only the tiles the tree gained since are written, then the
checkpoint, replaced atomically last, so that a reader never sees a checkpoint whose
tiles are missing. Partial tiles that the new tree no longer needs (an older width of
the same tile, or one whose full tile now exists) are deleted after the checkpoint, as
the spec allows.

Entry bundles are the log's contents, which the service shows only to admin and
regulator keys; they are written only when the operator asks (``entries=True``), for a
directory served to those who may read them.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ledger.log.service import Ledger
from ledger.log.witnessing import cosigned_checkpoint
from ledger.tiles.store import TileStore
from verifier.note import verify_checkpoint
from verifier.tiles import CHECKPOINT_PATH, Tile, entry_bundles, tiles_of_tree


@dataclass(frozen=True, slots=True)
class SyncReport:
    tree_size: int
    written: int  # tiles and bundles written by this sync
    kept: int  # full tiles and bundles already there, left alone
    removed: int  # partial tiles no longer needed


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tile-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)  # served by a web server running as another user
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _stale_partials(directory: Path, wanted: set[str]) -> list[Path]:
    """Partial tiles on disk (``<N>.p/<W>``) that the current tree does not name."""
    stale: list[Path] = []
    root = directory / "tile"
    if not root.is_dir():
        return stale
    for partial_dir in root.rglob("*.p"):
        if not partial_dir.is_dir():
            continue
        for f in partial_dir.iterdir():
            rel = f.relative_to(directory).as_posix()
            if f.is_file() and rel not in wanted:
                stale.append(f)
    return stale


def sync_directory(
    ledger: Ledger, directory: Path, *, entries: bool = False, store: TileStore | None = None
) -> SyncReport:
    """Bring ``directory`` up to the latest checkpoint; see the module docstring."""
    store = store or TileStore(ledger, capacity=0)
    note = cosigned_checkpoint(ledger)
    size = verify_checkpoint(note, ledger.verifier_key).size
    directory.mkdir(parents=True, exist_ok=True)
    wanted: list[Tile] = list(tiles_of_tree(size))
    if entries:
        wanted += entry_bundles(0, size)
    written = kept = 0
    for tile in wanted:
        path = directory / tile.path
        if path.exists():  # full tiles never change; a partial's name says its content
            kept += tile.full
            continue
        _write_atomic(path, store.read(tile))
        written += 1
    _write_atomic(directory / CHECKPOINT_PATH, note.encode("utf-8"))
    names = {t.path for t in wanted}
    stale = _stale_partials(directory, names)
    for f in stale:
        f.unlink(missing_ok=True)
        if not any(f.parent.iterdir()):
            f.parent.rmdir()
    return SyncReport(size, written, kept, len(stale))
