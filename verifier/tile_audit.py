"""Audit a log through its C2SP tlog-tiles: ours (``lotledger serve``) or a static mirror.

``audit_tiles`` reads ``<prefix>/checkpoint`` and checks it with the trusted key. With
the state of an earlier audit (the same state file as ``audit_url``'s), it computes the
consistency proof from the old tree to the new one itself, from the few hash tiles that
hold its nodes (``verifier.tiles.TileHashes``), and checks it against both signed roots:
a log, or a mirror, that rewrote history or serves a tampered tile is caught. Then it
reads only the entry bundles that hold the new entries and feeds them to ``LogAuditor``
(every leaf re-hashed and chained, the new root compared with the checkpoint), saving
its progress after each bundle, as the paged audit does after each page.

``<prefix>`` is an http(s) URL or a local directory written by ``lotledger tiles sync``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from verifier.audit import (
    AuditReport,
    LogAuditor,
    Progress,
    conclude,
    load_state,
    resume_auditor,
    save_state,
    state_of,
    trusted_checkpoint,
)
from verifier.errors import FormatError, HistoryRewrittenError, ProofError
from verifier.hashing import node_hash
from verifier.http import Fetch, http_fetch
from verifier.note import Checkpoint, VerifierKey
from verifier.proofs import verify_consistency
from verifier.tiles import CHECKPOINT_PATH, Tile, TileHashes, decode_bundle, entry_bundles

__all__ = ["audit_tiles", "consistency_from_tiles", "serves_tiles_only", "tile_reader"]

Read = Callable[[str], bytes]  # a path under the log's prefix -> its bytes


def tile_reader(prefix: str, *, api_key: str | None = None, fetch: Fetch | None = None) -> Read:
    """Read paths under ``prefix``: over HTTP (the key sent for entry bundles) or from a
    directory."""
    if not prefix.startswith(("http://", "https://")):
        root = Path(prefix)
        if not root.is_dir():
            raise FormatError(f"{prefix} is neither an http(s) URL nor a tiles directory")

        def read_file(path: str) -> bytes:
            try:
                return (root / path).read_bytes()
            except FileNotFoundError:
                hint = " written with --entries" if path.startswith("tile/entries/") else ""
                raise OSError(
                    f"{root / path} is missing: is {root} a `lotledger tiles sync` directory{hint}?"
                ) from None

        return read_file
    base = prefix.rstrip("/")

    def read_url(path: str) -> bytes:
        url = f"{base}/{path}"
        if fetch is not None:
            return fetch(url)
        return http_fetch(url, api_key=api_key if path.startswith("tile/entries/") else None)

    return read_url


def serves_tiles_only(prefix: str) -> bool:
    """Whether ``prefix`` is a tiles directory, or a URL with ``/checkpoint`` but no
    ``/v1/log`` API (a static mirror)."""
    if not prefix.startswith(("http://", "https://")):
        return Path(prefix).is_dir()
    base = prefix.rstrip("/")
    try:
        http_fetch(f"{base}/v1/log/key")
        return False  # our own API: audited through /v1/log
    except OSError:
        pass
    try:
        http_fetch(f"{base}/{CHECKPOINT_PATH}")
    except OSError:
        return False  # neither: the paged audit says why, in its own words
    return True


def _largest_power_below(n: int) -> int:
    return 1 << ((n - 1).bit_length() - 1)


def consistency_from_tiles(size1: int, size2: int, hashes: TileHashes) -> list[bytes]:
    """The RFC 9162 consistency proof from ``size1`` to ``size2`` (2.1.4.1), from tiles."""
    if not 0 < size1 <= size2 <= hashes.size:
        raise ValueError(f"no consistency proof from {size1} to {size2} in {hashes.size}")

    def mth(begin: int, end: int) -> bytes:
        n = end - begin
        if n & (n - 1) == 0 and begin % n == 0:  # a perfect subtree: a node in a tile
            level = n.bit_length() - 1
            return hashes.node(level, begin >> level)
        k = _largest_power_below(n)
        return node_hash(mth(begin, begin + k), mth(begin + k, end))

    def subproof(m: int, begin: int, end: int, whole: bool) -> list[bytes]:
        n = end - begin
        if m == n:
            return [] if whole else [mth(begin, end)]
        k = _largest_power_below(n)
        if m <= k:
            return [*subproof(m, begin, begin + k, whole), mth(begin + k, end)]
        return [*subproof(m - k, begin + k, end, False), mth(begin, begin + k)]

    return [] if size1 == size2 else subproof(size1, 0, size2, True)


def _check_extends(
    hashes: TileHashes, old_size: int, old_root: bytes, new: Checkpoint, prefix: str
) -> None:
    if new.size < old_size:
        raise HistoryRewrittenError(
            f"the log was rolled back: it now signs size {new.size}, but size {old_size} was "
            "verified before",
            old_size=old_size,
            new_size=new.size,
            first_entry=new.size,
        )
    if not old_size:
        return
    try:
        proof = consistency_from_tiles(old_size, new.size, hashes)
        verify_consistency(old_size, new.size, old_root, new.root_hash, proof)
    except (ProofError, FormatError) as exc:
        raise HistoryRewrittenError(
            f"the tiles at {prefix} do not prove the checkpoint at size {new.size} consistent "
            f"with the checkpoint at size {old_size} verified before (a rewritten history or "
            f"a tampered tile): {exc}",
            old_size=old_size,
            new_size=new.size,
            first_entry=None,
        ) from exc


def audit_tiles(
    prefix: str,
    key: VerifierKey,
    *,
    state_path: Path,
    api_key: str | None = None,
    fetch: Fetch | None = None,
    progress: Progress | None = None,
    max_bundles: int | None = None,
) -> AuditReport:
    """Audit a tile-serving log from where the last audit stopped; see the module docstring.

    ``fetch`` replaces the HTTP client (tests record what is asked); ``max_bundles`` stops
    early, as an interruption would.
    """
    began = time.monotonic()
    read = tile_reader(prefix, api_key=api_key, fetch=fetch)
    note = read(CHECKPOINT_PATH).decode("utf-8", "replace")
    checkpoint = trusted_checkpoint(note, key, f"the checkpoint at {prefix}")
    hashes = TileHashes(checkpoint.size, lambda tile: read(tile.path))
    state = load_state(state_path, key)
    if state is not None:
        _check_extends(hashes, state.checkpoint_size, state.checkpoint_root, checkpoint, prefix)
        if state.size > checkpoint.size:
            raise HistoryRewrittenError(
                f"the log was rolled back: it now signs size {checkpoint.size}, but "
                f"{state.size} entries were read before",
                old_size=state.size,
                new_size=checkpoint.size,
                first_entry=checkpoint.size,
            )
    auditor = resume_auditor(key, state)
    start = auditor.size
    if progress is not None:
        progress.total = checkpoint.size
    for count, tile in enumerate(entry_bundles(auditor.size, checkpoint.size)):
        if max_bundles is not None and count >= max_bundles:
            break
        _add_bundle(auditor, tile, read(tile.path))
        save_state(state_path, state_of(auditor, key.name))
        if progress is not None:
            progress.update(auditor.size)
    return conclude(
        auditor,
        note,
        checkpoint,
        state_path=state_path,
        previous=state,
        start=start,
        began=began,
        progress=progress,
    )


def _add_bundle(auditor: LogAuditor, tile: Tile, raw: bytes) -> None:
    """The bundle's entries from the auditor's position on (a bundle starts at 256 N)."""
    for i, leaf in enumerate(decode_bundle(raw, tile.width, tile.path)):
        seq = tile.first + i
        if seq >= auditor.size:
            auditor.add(seq, leaf)
