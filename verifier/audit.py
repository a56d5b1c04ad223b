"""Full audit of the log, streaming, in constant memory.

``LogAuditor`` is the pure core: fed entries in order, it re-hashes every leaf,
checks every ``seq`` and ``prev`` link, recomputes the tree's right frontier (a
compact range: at most 64 hashes, whatever the log's size), compares the
perfect-subtree nodes the server says it stores (when given), and checks the
root and signature of every checkpoint it meets. ``audit_export`` feeds it an
export file; ``audit_url`` pages through a server. Both keep a small state file
(the last verified checkpoint and the frontier at it) so the next audit checks
that the log still extends what was verified before: a log that rewrote
history, even re-signed with its own key, is caught.

Finding the top-level ``prev`` without parsing JSON. A leaf is the RFC 8785
canonical encoding of an object with exactly the keys ``actor``, ``event``,
``prev``, ``recorded_at``, ``seq``, in that (sorted) order, so its bytes end with
``,"prev":"<64 hex>","recorded_at":"<time>","seq":<n>}``. Inside a JSON string
every ``"`` is escaped as ``\\"``, so the byte sequence ``,"prev":"`` (a quote
right after a comma) can only be structural: an object key ``prev`` with a
string value, at some depth. Everything after the top-level ``prev`` is the
``recorded_at`` string (an RFC 3339 time: no quotes) and the integer ``seq``,
neither of which can hold that sequence, so the **last** occurrence is the
top-level key, however the event is nested. The audit then matches the whole
tail after it exactly (``_TAIL``), and the leaf's first bytes (``{"actor":"``),
so a leaf of another shape is refused rather than misread. Full JSON parsing of
every leaf is what ``recall`` does; the audit does not need it.

Naming the first bad entry. A changed entry ``k`` breaks exactly one link
(``k -> k+1``) unless the change is in its own ``prev`` field, which breaks two
(``k-1 -> k`` and ``k -> k+1``). So on a broken link the auditor looks one entry
ahead before it names ``k``. A ``seq`` that is too high where a link breaks
means entries are missing there; one that is too low means an entry was
inserted just before.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import random
import re
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from verifier.compact import frontier_coordinates
from verifier.errors import (
    ChainError,
    CheckpointError,
    CheckpointMismatchError,
    FormatError,
    HistoryRewrittenError,
    NoteFormatError,
    ProofError,
    SignatureError,
    TreeError,
    UnknownKeyError,
    UnknownLogError,
    VerificationError,
)
from verifier.export import ExportCheckpoint, read_export
from verifier.hashing import EMPTY_ROOT, HASH_SIZE, leaf_hash
from verifier.http import Fetch, http_fetch, http_fetcher
from verifier.note import Checkpoint, VerifierKey, parse_note, verify_checkpoint
from verifier.proofs import verify_consistency, verify_inclusion
from verifier.wire import (
    EntriesPage,
    parse_consistency_proof,
    parse_entries_page,
    parse_inclusion_proof,
)

__all__ = [
    "STATE_FORMAT",
    "AuditReport",
    "AuditState",
    "CheckpointReport",
    "LogAuditor",
    "Progress",
    "audit_export",
    "audit_url",
    "check_checkpoint_url",
    "conclude",
    "describe_signers",
    "http_fetch",
    "http_fetcher",
    "load_state",
    "resume_auditor",
    "save_state",
    "state_of",
    "state_path_for",
    "trusted_checkpoint",
]

STATE_FORMAT = "lotledger-audit-state"
STATE_VERSION = 1
ZERO_HEX = b"0" * 64
_HEAD = b'{"actor":"'
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_PREV = b',"prev":"'
_TAIL = re.compile(
    rb',"prev":"([0-9a-f]{64})","recorded_at":"([0-9A-Za-z:.+\-]{1,40})","seq":(0|[1-9][0-9]{0,15})\}'
)
_sha256 = hashlib.sha256
_hexlify = binascii.hexlify

OnEntry = Callable[[int, bytes], None]


def _short(h: bytes | str) -> str:
    return h.hex() if isinstance(h, bytes) else h


@dataclass(slots=True)
class _PendingLink:
    position: int
    expected: str  # hash of the entry before, hex
    found: str  # the prev this entry records


@dataclass(slots=True)
class _PendingRoot:
    size: int
    since: int
    expected: bytes
    calculated: bytes


class LogAuditor:
    """Check entries fed in order; see the module docstring for what and how."""

    def __init__(
        self,
        key: VerifierKey,
        *,
        size: int = 0,
        frontier: Iterable[bytes] = (),
        last_leaf_hash: bytes = bytes(HASH_SIZE),
        expected_frontier: tuple[int, list[bytes]] | None = None,
        on_entry: OnEntry | None = None,
    ) -> None:
        self.key = key
        self.size = size
        self.hashes = list(frontier)
        if len(self.hashes) != size.bit_count():
            raise FormatError(f"a frontier at size {size} holds {size.bit_count()} hashes")
        self.prev_hex = last_leaf_hash.hex().encode() if size else ZERO_HEX
        self.last_verified = size  # entries below this are covered by a checked checkpoint
        self.checkpoints = 0
        self.last_checkpoint: Checkpoint | None = None
        self.last_note: str | None = None
        self.on_entry = on_entry
        self._pending: _PendingLink | None = None
        self._pending_root: _PendingRoot | None = None
        self._pending_node: TreeError | None = None
        self._expected = expected_frontier
        if expected_frontier is not None and expected_frontier[0] == size:
            self._compare_expected()

    # -- the hot path ---------------------------------------------------------------

    def add(self, seq: int, leaf: bytes, nodes: bytes | None = None) -> None:
        """Check the entry at position ``self.size``; ``seq`` is the seq it was served as."""
        i = self.size
        pos = leaf.rfind(_PREV)
        tail = _TAIL.fullmatch(leaf, pos) if pos > 0 else None
        if tail is None or not leaf.startswith(_HEAD):
            self._settle(link_ok=False)
            raise ChainError(
                i,
                "entry shape",
                "the leaf is not a canonical log entry"
                ' {"actor":...,"event":{...},"prev":HEX,"recorded_at":TIME,"seq":N}',
            )
        h = _sha256(_LEAF_PREFIX + leaf).digest()
        prev = tail[1]
        link_ok = prev == self.prev_hex
        leaf_seq = int(tail[3])
        if self._pending is not None or self._pending_root is not None or self._pending_node:
            self._settle(link_ok, leaf_seq < i, prev)
        if not link_ok:
            if leaf_seq > i:
                raise ChainError(
                    i,
                    "sequence",
                    f"entry {i} is missing: entry {leaf_seq} stands in its place",
                    expected=str(i),
                    found=str(leaf_seq),
                )
            if leaf_seq < i:
                raise ChainError(
                    i - 1,
                    "sequence",
                    f"entry {i - 1} was inserted: entry {leaf_seq} follows it and chains to "
                    "another entry",
                    expected=str(i),
                    found=str(leaf_seq),
                )
            self._pending = _PendingLink(i, self.prev_hex.decode(), prev.decode())
        elif leaf_seq != i or seq != i:
            bad = leaf_seq if leaf_seq != i else seq
            raise ChainError(
                i, "sequence", f"entry {i} carries seq {bad}", expected=str(i), found=str(bad)
            )
        # Append to the compact range, collecting the perfect subtrees this leaf completes.
        hashes = self.hashes
        node = h
        index = i
        completed = b""
        while index & 1:
            node = _sha256(_NODE_PREFIX + hashes.pop() + node).digest()
            completed += node
            index >>= 1
        hashes.append(node)
        self.size = i + 1
        self.prev_hex = _hexlify(h)
        if nodes is not None and nodes != completed and self._pending is None:
            # Decided at the next entry: if its link breaks too, entry i itself changed.
            self._pending_node = self._node_mismatch(i, nodes, completed)
        if self.on_entry is not None:
            self.on_entry(i, leaf)
        if self._expected is not None and self._expected[0] == self.size:
            self._compare_expected()

    # -- checks around the hot path ---------------------------------------------------

    def _settle(self, link_ok: bool, seq_behind: bool = False, next_prev: bytes = b"") -> None:
        """Resolve a failure left pending by the previous entry, now that we see the next."""
        pending, self._pending = self._pending, None
        if pending is not None:
            p = pending.position
            if link_ok and p > 0:
                raise ChainError(
                    p - 1,
                    "hash chain",
                    f"entry {p - 1} was changed: entry {p} records its hash as prev",
                    expected=pending.found,
                    found=pending.expected,
                )
            raise ChainError(
                p,
                "prev link",
                f"entry {p}'s prev is not the hash of entry {p - 1}"
                if p
                else "entry 0's prev must be 64 zeros",
                expected=pending.expected,
                found=pending.found,
            )
        node, self._pending_node = self._pending_node, None
        if node is not None:
            if not link_ok and seq_behind:
                raise ChainError(
                    node.seq,
                    "sequence",
                    f"entry {node.seq} was inserted: the entry after it is entry "
                    f"{node.seq} again, chained to another entry",
                ) from node
            if not link_ok:
                raise ChainError(
                    node.seq,
                    "hash chain",
                    f"entry {node.seq} was changed: neither the stored tree nor entry "
                    f"{node.seq + 1}'s prev matches its hash",
                    expected=next_prev.decode(),
                    found=self.prev_hex.decode(),
                ) from node
            raise node
        root, self._pending_root = self._pending_root, None
        if root is not None:
            if not link_ok:
                raise ChainError(
                    root.size - 1,
                    "hash chain",
                    f"entry {root.size - 1} was changed: neither the checkpoint at size "
                    f"{root.size} nor entry {root.size}'s prev matches its hash",
                    expected=next_prev.decode(),
                    found=self.prev_hex.decode(),
                )
            self._raise_root(root)

    def _raise_root(self, root: _PendingRoot) -> None:
        raise TreeError(
            root.size - 1,
            f"checkpoint root at size {root.size}",
            f"the entries do not hash to the signed root: entry {root.size - 1} (the only "
            "one that can change without breaking the chain) or a re-chained run of entries "
            f"since size {root.since} was changed",
            expected=root.expected.hex(),
            found=root.calculated.hex(),
        )

    def _node_mismatch(self, i: int, stored: bytes, computed: bytes) -> TreeError:
        for level in range(1, max(len(stored), len(computed)) // HASH_SIZE + 1):
            a = stored[(level - 1) * HASH_SIZE : level * HASH_SIZE]
            b = computed[(level - 1) * HASH_SIZE : level * HASH_SIZE]
            if a != b:
                first = i + 1 - (1 << level)
                return TreeError(
                    i,
                    f"tree node (level {level}, index {(i + 1) >> level})",
                    f"the stored subtree over entries {first}..{i} is not the hash of those "
                    "entries",
                    expected=b.hex() or "none",
                    found=a.hex() or "none",
                )
        raise AssertionError("unreachable: the node lists differ")

    def _compare_expected(self) -> None:
        assert self._expected is not None
        size, hashes = self._expected
        self._expected = None
        if hashes == self.hashes:
            return
        coords = frontier_coordinates(size)
        for (level, index), old, new in zip(coords, hashes, self.hashes, strict=True):
            if old != new:
                first, last = index << level, ((index + 1) << level) - 1
                raise HistoryRewrittenError(
                    f"the log rewrote history: the entries {first}..{last} differ from those "
                    f"audited before at size {size} (subtree hash expected {old.hex()}, found "
                    f"{new.hex()}); the first changed entry is among them",
                    old_size=size,
                    new_size=self.size,
                    first_entry=first,
                )

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        h = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            h = _sha256(b"\x01" + left + h).digest()
        return h

    def check_checkpoint(self, note: str, size: int | None = None) -> Checkpoint:
        """Verify a checkpoint the log signed at the current size: signature, size, root."""
        at = self.size if size is None else size
        try:
            checkpoint = verify_checkpoint(note, self.key, origin=self.key.name)
        except VerificationError as exc:
            raise CheckpointMismatchError(
                max(at - 1, 0), f"checkpoint at size {at}", f"not a valid checkpoint: {exc}"
            ) from exc
        if checkpoint.size > self.size:
            raise ChainError(
                self.size,
                "sequence",
                f"entry {self.size} is missing: the checkpoint at size {checkpoint.size} comes "
                f"after {self.size} entries",
                expected=str(checkpoint.size),
                found=str(self.size),
            )
        if checkpoint.size < self.size:
            raise ChainError(
                checkpoint.size,
                "sequence",
                f"entry {checkpoint.size} was inserted: the checkpoint at size "
                f"{checkpoint.size} comes after {self.size} entries",
                expected=str(checkpoint.size),
                found=str(self.size),
            )
        if at != checkpoint.size:
            raise CheckpointMismatchError(
                max(at - 1, 0),
                f"checkpoint at size {at}",
                f"the note signs size {checkpoint.size}",
                expected=str(at),
                found=str(checkpoint.size),
            )
        root = self.root()
        if checkpoint.root_hash != root:
            self._pending_root = _PendingRoot(
                checkpoint.size, self.last_verified, checkpoint.root_hash, root
            )
        else:
            self.last_verified = self.size
        self.checkpoints += 1
        self.last_checkpoint = checkpoint
        self.last_note = note
        return checkpoint

    def finish(self) -> None:
        """The stream ended: settle anything left pending (no next entry to look at)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            self._pending = pending
            self._settle(link_ok=False)
        node, self._pending_node = self._pending_node, None
        if node is not None:
            raise node
        root, self._pending_root = self._pending_root, None
        if root is not None:
            self._raise_root(root)
        if self._expected is not None:
            size = self._expected[0]
            raise HistoryRewrittenError(
                f"the log was rolled back: it has {self.size} entries, but {size} were "
                "audited before",
                old_size=size,
                new_size=self.size,
                first_entry=self.size,
            )


# -- state ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditState:
    """What one audit leaves for the next: the last verified checkpoint, and progress.

    ``size``/``frontier``/``last_leaf_hash`` describe the entries hashed and
    chained so far (``size >= checkpoint size``; greater only after an
    interrupted fetch, which the next run resumes from).
    """

    origin: str
    checkpoint: str | None  # None: nothing verified yet (an interrupted first audit)
    checkpoint_size: int
    checkpoint_root: bytes
    size: int
    frontier: list[bytes] = field(default_factory=list)
    last_leaf_hash: bytes = bytes(HASH_SIZE)
    key_id: str = ""  # hex key id of the log key the state was verified with

    def encode(self) -> str:
        return (
            json.dumps(
                {
                    "format": STATE_FORMAT,
                    "version": STATE_VERSION,
                    "origin": self.origin,
                    "key_id": self.key_id,
                    "checkpoint": self.checkpoint,
                    "size": self.size,
                    "frontier": [base64.b64encode(h).decode() for h in self.frontier],
                    "last_leaf_hash": self.last_leaf_hash.hex(),
                },
                indent=1,
                sort_keys=True,
            )
            + "\n"
        )


def load_state(path: Path, key: VerifierKey) -> AuditState | None:
    """The state file at ``path`` (None if there is none); its checkpoint must verify."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        obj = json.loads(text)
        if obj["format"] != STATE_FORMAT or obj["version"] != STATE_VERSION:
            raise FormatError(f"{path}: not a version {STATE_VERSION} audit state file")
        note = obj["checkpoint"]
        kept_for = f"log {obj['origin']!r}, key id {obj.get('key_id', 'unknown')}"
        if obj["origin"] != key.name or obj.get("key_id", key.key_id.hex()) != key.key_id.hex():
            raise UnknownLogError(
                f"{path} is the audit state of {kept_for}, not of log {key.name!r}, key id "
                f"{key.key_id.hex()}: give each log its own --state file (or leave --state out)"
            )
        try:
            checkpoint = (
                verify_checkpoint(note, key, origin=key.name)
                if note is not None
                else Checkpoint(key.name, 0, EMPTY_ROOT)
            )
        except VerificationError as exc:
            raise UnknownLogError(
                f"{path}: its saved checkpoint is not signed by log {key.name!r}, key id "
                f"{key.key_id.hex()} ({exc}): it belongs to another log or key"
            ) from None
        frontier = [binascii.a2b_base64(h, strict_mode=True) for h in obj["frontier"]]
        state = AuditState(
            origin=obj["origin"],
            checkpoint=obj["checkpoint"],
            checkpoint_size=checkpoint.size,
            checkpoint_root=checkpoint.root_hash,
            size=int(obj["size"]),
            frontier=frontier,
            last_leaf_hash=bytes.fromhex(obj["last_leaf_hash"]),
            key_id=key.key_id.hex(),
        )
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise FormatError(f"{path}: malformed audit state: {exc}") from None
    if state.size < state.checkpoint_size or len(frontier) != state.size.bit_count():
        raise FormatError(f"{path}: inconsistent audit state")
    return state


def save_state(path: Path, state: AuditState) -> None:
    """Write the state atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".audit-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(state.encode())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def state_of(auditor: LogAuditor, origin: str) -> AuditState:
    checkpoint = auditor.last_checkpoint
    return AuditState(
        key_id=auditor.key.key_id.hex(),
        origin=origin,
        checkpoint=auditor.last_note,
        checkpoint_size=0 if checkpoint is None else checkpoint.size,
        checkpoint_root=EMPTY_ROOT if checkpoint is None else checkpoint.root_hash,
        size=auditor.size,
        frontier=list(auditor.hashes),
        last_leaf_hash=bytes.fromhex(auditor.prev_hex.decode()) if auditor.size else bytes(32),
    )


# -- progress ---------------------------------------------------------------------------


class Progress:
    """A one-line progress bar on a text stream (stderr), redrawn at most 10 times a second."""

    def __init__(self, total: int, *, stream: IO[str] | None = None, label: str = "") -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.label = label
        self.start = time.monotonic()
        self._drawn = 0.0

    def update(self, done: int, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._drawn < 0.1:
            return
        self._drawn = now
        fraction = done / self.total if self.total else 1.0
        width = 30
        filled = int(width * fraction)
        rate = done / max(now - self.start, 1e-9)
        self.stream.write(
            f"\r{self.label}[{'#' * filled}{'.' * (width - filled)}] {fraction:6.1%} "
            f"{done}/{self.total} entries {rate:,.0f}/s"
        )
        self.stream.flush()

    def close(self, done: int) -> None:
        self.update(done, force=True)
        self.stream.write("\n")
        self.stream.flush()


# -- audits -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditReport:
    origin: str
    tree_size: int
    root: bytes
    entries_checked: int
    checkpoints_checked: int
    previous_size: int | None
    seconds: float
    start: int = 0  # the first entry an export holds (a range export's ``start``)
    rechecked: int = 0  # already-audited entries checked again (--recheck, --full)


def _expected_from(state: AuditState | None) -> tuple[int, list[bytes]] | None:
    if state is None:
        return None
    return (state.size, list(state.frontier))


def audit_export(
    stream: IO[bytes],
    key: VerifierKey,
    *,
    state_path: Path | None = None,
    on_entry: OnEntry | None = None,
    progress: Progress | None = None,
    whole_log: bool = False,
) -> AuditReport:
    """Audit an export from its first entry: every leaf, link, node and checkpoint.

    ``whole_log``: refuse a range export (one that does not start at entry 0).

    With ``state_path``: the entries must extend the history verified last time
    (``HistoryRewrittenError`` otherwise), and the state is updated on success.
    """
    began = time.monotonic()
    header, items = read_export(stream)
    if header.origin != key.name:
        raise UnknownLogError(
            f"the export is of log {header.origin!r}, but the key given is for log "
            f"{key.name!r} (key id {key.key_id.hex()}): pass the verifier key of log "
            f"{header.origin!r}, obtained from its operator out of band"
        )
    if whole_log and header.start:
        raise FormatError(
            f"the export starts at entry {header.start}: this needs the whole log, from "
            "entry 0 (lotledger export without --from)"
        )
    if header.verifier_key != str(key):
        raise UnknownLogError(
            f"the export is of log {header.origin!r} with key {header.verifier_key!r}; the "
            f"key given is {str(key)!r} (key id {key.key_id.hex()}): if this export is of the "
            "log you mean to audit, get its verifier key from its operator out of band and "
            "pass it with --key"
        )
    state = load_state(state_path, key) if state_path is not None else None
    if state is not None and state.checkpoint_size > header.tree_size:
        raise HistoryRewrittenError(
            f"the log was rolled back: the export has {header.tree_size} entries, but a "
            f"checkpoint at size {state.checkpoint_size} was verified before",
            old_size=state.checkpoint_size,
            new_size=header.tree_size,
            first_entry=header.tree_size,
        )
    if state is not None and state.checkpoint_size < header.start:
        raise FormatError(
            f"the export starts at entry {header.start}, but the last audit verified only "
            f"{state.checkpoint_size} entries: export from entry {state.checkpoint_size} "
            f"(lotledger export --from {state.checkpoint_size})"
        )
    expected = None if state is None else (state.checkpoint_size, _frontier_at(state))
    auditor = LogAuditor(
        key,
        size=header.start,
        frontier=header.frontier,
        last_leaf_hash=header.prev,
        expected_frontier=expected,
        on_entry=on_entry,
    )
    if progress is not None:
        progress.total = header.tree_size - header.start
    add = auditor.add
    count = 0
    for item in items:
        if isinstance(item, ExportCheckpoint):
            auditor.check_checkpoint(item.note, item.tree_size)
            continue
        add(item.seq, item.leaf, item.nodes if item.nodes is not None else b"")
        count += 1
        if progress is not None and not count & 0x3FFF:
            progress.update(count)
    auditor.finish()
    if progress is not None:
        progress.close(count)
    if state_path is not None:
        save_state(state_path, state_of(auditor, header.origin))
    return AuditReport(
        header.origin,
        auditor.size,
        auditor.root(),
        count,
        auditor.checkpoints,
        None if state is None else state.checkpoint_size,
        time.monotonic() - began,
        start=header.start,
    )


def _frontier_at(state: AuditState) -> list[bytes]:
    if state.size == state.checkpoint_size:
        return list(state.frontier)
    # An interrupted URL audit went past its checkpoint; only the checkpoint is trusted,
    # and the export audit recomputes the frontier, so compare the root alone.
    raise FormatError(
        "the audit state is mid-fetch (from an interrupted URL audit); finish that audit "
        "first or use another --state file"
    )


def describe_signers(note: str) -> str:
    """Who signed a checkpoint note, in words: its origin line and each signer's key id."""
    try:
        parsed = parse_note(note)
    except VerificationError as exc:
        return f"an unreadable checkpoint ({exc})"
    origin = parsed.text.split("\n", 1)[0]
    signers = ", ".join(f"{s.name} (key id {s.key_id.hex()})" for s in parsed.signatures)
    return f"log {origin!r}, signed by {signers or 'nobody'}"


def trusted_checkpoint(note: str, key: VerifierKey, where: str) -> Checkpoint:
    """Verify a log's checkpoint with the trusted key; say plainly who signed it otherwise.

    A note signed under the trusted name and key id whose signature fails is a forgery
    (``CheckpointMismatchError``); a note of another log or key is not (``UnknownLogError``:
    the auditor is pointing at another deployment, or was given the wrong key).
    """
    try:
        checkpoint = verify_checkpoint(note, key, origin=key.name)
    except (NoteFormatError, CheckpointError) as exc:
        raise FormatError(
            f"{where} is not a signed checkpoint ({exc}): is this a Lotledger log?"
        ) from None
    except UnknownKeyError as exc:
        raise UnknownLogError(
            f"{where} is {describe_signers(note)}; the key given is for log {key.name!r}, "
            f"key id {key.key_id.hex()}. If this is the log you mean to audit, get its "
            "verifier key from its operator (the server shows it at /v1/log/key; confirm it "
            "out of band) and pass it with --key; each log and key keeps its own audit state"
        ) from exc
    except VerificationError as exc:
        raise SignatureError(
            f"{where} carries a signature under the trusted key {key.name}+"
            f"{key.key_id.hex()} that does not verify: the checkpoint was forged or altered "
            f"({exc})"
        ) from exc
    return checkpoint


def state_path_for(directory: Path, key: VerifierKey) -> Path:
    """The default state file of one log and key: ``<dir>/<origin>+<key id>.json``."""
    safe = "".join(c if c.isalnum() or c in "-._" else "_" for c in key.name)
    return directory / f"{safe}+{key.key_id.hex()}.json"


def audit_url(
    base_url: str,
    key: VerifierKey,
    *,
    state_path: Path,
    api_key: str | None = None,
    page_size: int = 1000,
    fetch: Fetch | None = None,
    progress: Progress | None = None,
    max_pages: int | None = None,
    recheck: int = 0,
    full: bool = False,
    rng: random.Random | None = None,
) -> AuditReport:
    """Audit a live log over HTTP, from where the last audit stopped.

    GET ``/v1/log/checkpoint`` (signed note), then, with a previous state, GET
    ``/v1/log/proof/consistency?first=&second=`` and check it, then page through
    GET ``/v1/log/entries?start=&end=`` for the new entries only, saving progress
    after every page (``max_pages`` stops early, as an interruption would).

    With a previous state, ``recheck`` N re-reads N random already-audited entries and
    checks each against the tree verified before (its inclusion proof to the saved
    checkpoint's root); ``full`` re-reads and re-hashes all of them and compares the
    tree they make with the saved one. Either catches an old entry changed since.

    The entries answer only a regulator or admin key: ``api_key`` (sent as a bearer
    token by the default ``fetch``); without one the server refuses the first page
    (``check_checkpoint_url`` is the audit a reader without a key can do).
    """
    began = time.monotonic()
    base = base_url.rstrip("/")
    if fetch is None:
        fetch = http_fetcher(api_key)
    note = fetch(f"{base}/v1/log/checkpoint").decode("utf-8", "replace")
    checkpoint = trusted_checkpoint(note, key, f"the server's latest checkpoint ({base})")
    state = load_state(state_path, key)
    rechecked = 0
    if state is not None:
        _check_extends(base, fetch, state, checkpoint)
        if full and state.checkpoint_size:
            rechecked = _recheck_full(base, fetch, key, state, page_size, progress)
        elif recheck and state.checkpoint_size:
            rechecked = _recheck_sample(base, fetch, state, recheck, rng or random.SystemRandom())
    auditor = resume_auditor(key, state)
    start = auditor.size
    if progress is not None:
        progress.total = checkpoint.size
    pages = 0
    while auditor.size < checkpoint.size:
        if max_pages is not None and pages >= max_pages:
            break
        end = min(auditor.size + page_size, checkpoint.size)
        page = _fetch_page(base, fetch, auditor.size, end)
        for seq, leaf in page.entries:
            auditor.add(seq, leaf)
        pages += 1
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
        rechecked=rechecked,
    )


def resume_auditor(key: VerifierKey, state: AuditState | None) -> LogAuditor:
    """An auditor that goes on from where the audit that saved ``state`` stopped."""
    if state is None:
        return LogAuditor(key)
    auditor = LogAuditor(
        key, size=state.size, frontier=state.frontier, last_leaf_hash=state.last_leaf_hash
    )
    if state.checkpoint is not None:
        auditor.last_note, auditor.last_checkpoint = state.checkpoint, _parsed(state)
    return auditor


def conclude(
    auditor: LogAuditor,
    note: str,
    checkpoint: Checkpoint,
    *,
    state_path: Path,
    previous: AuditState | None,
    start: int,
    began: float,
    progress: Progress | None,
    rechecked: int = 0,
) -> AuditReport:
    """End a live audit: check the checkpoint once every entry under it was fed, save."""
    key = auditor.key
    if auditor.size == checkpoint.size:
        auditor.check_checkpoint(note)
        auditor.finish()
        save_state(state_path, state_of(auditor, key.name))
    if progress is not None:
        progress.close(auditor.size)
    return AuditReport(
        key.name,
        auditor.size,
        auditor.root(),
        auditor.size - start,
        auditor.checkpoints,
        None if previous is None else previous.checkpoint_size,
        time.monotonic() - began,
        rechecked=rechecked,
    )


@dataclass(frozen=True, slots=True)
class CheckpointReport:
    """A keyless check of a live log: its latest checkpoint is signed by the trusted key
    and (with a previous audit's state) consistent with the checkpoint audited before."""

    origin: str
    tree_size: int
    root: bytes
    signers: str
    previous_size: int | None


def check_checkpoint_url(
    base_url: str, key: VerifierKey, *, state_path: Path, fetch: Fetch = http_fetch
) -> CheckpointReport:
    """What anyone may check of a live log without an API key (a witness's check).

    GET ``/v1/log/checkpoint`` and verify its signature; with a previous audit's state,
    GET ``/v1/log/proof/consistency`` and check that the log extends the checkpoint
    audited then (``HistoryRewrittenError`` if not). The state file is read, never
    written: it records what was audited entry by entry, and no entry was read here.
    """
    base = base_url.rstrip("/")
    note = fetch(f"{base}/v1/log/checkpoint").decode("utf-8", "replace")
    checkpoint = trusted_checkpoint(note, key, f"the server's latest checkpoint ({base})")
    state = load_state(state_path, key)
    if state is not None:
        _check_extends(base, fetch, state, checkpoint)
    return CheckpointReport(
        key.name,
        checkpoint.size,
        checkpoint.root_hash,
        describe_signers(note),
        None if state is None else state.checkpoint_size,
    )


def _fetch_page(base: str, fetch: Fetch, start: int, end: int) -> EntriesPage:
    query = urllib.parse.urlencode({"start": start, "end": end})
    return parse_entries_page(fetch(f"{base}/v1/log/entries?{query}"), start, end)


def _recheck_sample(
    base: str, fetch: Fetch, state: AuditState, count: int, rng: random.Random
) -> int:
    """Check ``count`` random entries below the saved checkpoint against its root."""
    size, root = state.checkpoint_size, state.checkpoint_root
    picked = sorted(rng.sample(range(size), count)) if count < size else list(range(size))
    for index in picked:
        page = _fetch_page(base, fetch, index, index + 1)
        seq, leaf = page.entries[0]
        query = urllib.parse.urlencode({"index": index, "size": size})
        proof = parse_inclusion_proof(fetch(f"{base}/v1/log/proof/inclusion?{query}"), index, size)
        if seq != index:
            raise ChainError(
                index, "sequence", f"asked for entry {index}, the server sent entry {seq}"
            )
        try:
            verify_inclusion(index, size, leaf_hash(leaf), proof, root)
        except ProofError as exc:
            raise TreeError(
                index,
                "recheck",
                f"entry {index} was changed after it was audited: its bytes no longer hash "
                f"into the tree of size {size} verified before",
            ) from exc
    return len(picked)


def _recheck_full(
    base: str,
    fetch: Fetch,
    key: VerifierKey,
    state: AuditState,
    page_size: int,
    progress: Progress | None,
) -> int:
    """Re-read and re-hash every entry below the saved checkpoint; compare with its tree."""
    size = state.checkpoint_size
    frontier = _frontier_at(state) if state.size == size else None
    auditor = LogAuditor(key, expected_frontier=None if frontier is None else (size, frontier))
    if progress is not None:
        progress.total = size
    while auditor.size < size:
        end = min(auditor.size + page_size, size)
        for seq, leaf in _fetch_page(base, fetch, auditor.size, end).entries:
            auditor.add(seq, leaf)
        if progress is not None:
            progress.update(auditor.size)
    auditor.finish()
    if auditor.root() != state.checkpoint_root:
        raise HistoryRewrittenError(
            f"the log rewrote history: its first {size} entries no longer hash to the root "
            "verified before",
            old_size=size,
            new_size=size,
            first_entry=None,
        )
    return size


def _parsed(state: AuditState) -> Checkpoint:
    return Checkpoint(state.origin, state.checkpoint_size, state.checkpoint_root)


def _check_extends(base: str, fetch: Fetch, state: AuditState, new: Checkpoint) -> None:
    old_size, old_root = state.checkpoint_size, state.checkpoint_root
    if new.size < old_size:
        raise HistoryRewrittenError(
            f"the log was rolled back: it now signs size {new.size}, but size {old_size} was "
            "verified before",
            old_size=old_size,
            new_size=new.size,
            first_entry=new.size,
        )
    query = urllib.parse.urlencode({"first": old_size, "second": new.size})
    raw = fetch(f"{base}/v1/log/proof/consistency?{query}")
    proof = parse_consistency_proof(raw, old_size, new.size)
    try:
        verify_consistency(old_size, new.size, old_root, new.root_hash, proof)
    except ProofError as exc:
        raise HistoryRewrittenError(
            f"the log rewrote history: its checkpoint at size {new.size} is not consistent "
            f"with the checkpoint at size {old_size} verified before: {exc}",
            old_size=old_size,
            new_size=new.size,
            first_entry=None,
        ) from exc
