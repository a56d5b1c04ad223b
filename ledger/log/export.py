"""Server side of the verifier's formats: the log export and provenance bundles.

``write_export`` (``lotledger export``) and ``stream_export`` (``GET /v1/log/export``)
stream entries (with the tree nodes each completes) and the stored checkpoints in the
``lotledger-export`` format that ``verifier.export`` documents and alone parses; a
range export (``--from``/``--to``) is planned by ``export_range``. ``build_bundle``
assembles a ``lotledger-bundle`` (see ``verifier.bundle``) for a lot from the seqs its
trace found, with inclusion proofs against the latest checkpoint; ``lot_bundle`` cuts
one to what its caller may see (``ledger.lineage.visibility``) and says so in its ``scope``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import Connection, select

from ledger.errors import InvalidRange, NotFound
from ledger.lineage.graph import TraceStart, trace
from ledger.lineage.visibility import concerns, own_locations, recalled_lots
from ledger.log import tree
from ledger.log.service import Ledger
from ledger.log.signing import sign_checkpoint
from ledger.storage.db import read_transaction
from ledger.storage.schema import Checkpoint, Entry, Lot, LotEvent
from verifier.bundle import FORMAT as BUNDLE_FORMAT
from verifier.bundle import FULL_SCOPE, VISIBLE_TO
from verifier.bundle import VERSION as BUNDLE_VERSION
from verifier.compact import frontier_coordinates
from verifier.export import ExportHeader, encode_checkpoint_line, encode_entry_line
from verifier.hashing import EMPTY_ROOT
from verifier.note import parse_checkpoint, parse_note

__all__ = [
    "ExportPlan",
    "build_bundle",
    "export_range",
    "lot_bundle",
    "scope_of",
    "stream_export",
    "write_export",
]


@dataclass(frozen=True, slots=True)
class ExportPlan:
    """What one export holds, fixed before its first byte: entries [start, end)."""

    header: ExportHeader
    start: int
    end: int
    first_note: str | None  # the checkpoint at ``start`` (range exports and empty logs)
    final_note: str


def export_range(ledger: Ledger, start: int = 0, end: int | None = None) -> ExportPlan:
    """Plan an export of entries ``[start, end)``; ``end`` defaults to the latest checkpoint.

    The export ends with a checkpoint at ``end`` (the stored one, or, for a size the log
    signed no checkpoint at, one the log signs now over its stored tree: a true statement
    about its own history). A range export (``start`` > 0) carries the tree's frontier at
    ``start`` and begins with a checkpoint at ``start``, so the frontier is signed too.
    Raises ``InvalidRange`` for a range outside the log.
    """
    with read_transaction(ledger.engine) as conn:
        latest = conn.execute(
            select(Checkpoint.tree_size, Checkpoint.note)
            .order_by(Checkpoint.tree_size.desc())
            .limit(1)
        ).first()
        signed = 0 if latest is None else int(latest[0])
        if end is None:
            end = signed
        if end > signed:
            raise InvalidRange(
                f"--to {end} is beyond the log's latest checkpoint, at size {signed}"
            )
        if not 0 <= start <= end:
            raise InvalidRange(f"--from {start} is after --to {end}: nothing to export")
        final_note = _note_at(ledger, conn, end)
        first_note = _note_at(ledger, conn, start) if start or end == 0 else None
        frontier: tuple[bytes, ...] = ()
        prev = bytes(32)
        if start:
            frontier = _frontier(conn, start)
            prev = bytes(
                conn.execute(select(Entry.leaf_hash).where(Entry.seq == start - 1)).scalar_one()
            )
    header = ExportHeader(ledger.origin, str(ledger.verifier_key), end, start, frontier, prev)
    return ExportPlan(header, start, end, first_note, final_note)


def _note_at(ledger: Ledger, conn: Connection, size: int) -> str:
    note = conn.execute(
        select(Checkpoint.note).where(Checkpoint.tree_size == size)
    ).scalar_one_or_none()
    if note is not None:
        return str(note)
    root = EMPTY_ROOT if size == 0 else tree.root(conn, size)
    return sign_checkpoint(ledger.signer, size, root)


def _frontier(conn: Connection, size: int) -> tuple[bytes, ...]:
    """The hashes of the perfect subtrees of the tree of ``size``, largest first."""
    coords = frontier_coordinates(size)
    owners = [((index + 1) << level) - 1 for level, index in coords]
    rows = {
        int(seq): (bytes(h), bytes(n))
        for seq, h, n in conn.execute(
            select(Entry.seq, Entry.leaf_hash, Entry.nodes).where(Entry.seq.in_(list(owners)))
        )
    }
    out = []
    for level, index in coords:
        leaf, nodes = rows[((index + 1) << level) - 1]
        out.append(leaf if level == 0 else nodes[(level - 1) * 32 : level * 32])
    return tuple(out)


def stream_export(ledger: Ledger, plan: ExportPlan, *, page: int = 5000) -> Iterator[bytes]:
    """The export's bytes, in chunks of about 64 KiB, read in one snapshot."""
    buffer: list[bytes] = [plan.header.encode()]
    if plan.first_note is not None:
        buffer.append(encode_checkpoint_line(plan.start, plan.first_note))
    if plan.end == plan.start:
        yield b"".join(buffer)
        return
    held = 0
    with read_transaction(ledger.engine) as conn:
        # Checkpoints are one per append batch: far fewer than entries, held in memory.
        pending = iter(
            [
                (int(s), str(n))
                for s, n in conn.execute(
                    select(Checkpoint.tree_size, Checkpoint.note)
                    .where(Checkpoint.tree_size > plan.start, Checkpoint.tree_size < plan.end)
                    .order_by(Checkpoint.tree_size)
                )
            ]
            + [(plan.end, plan.final_note)]
        )
        next_checkpoint = next(pending, None)
        result = conn.execute(
            select(Entry.seq, Entry.leaf_bytes, Entry.nodes)
            .where(Entry.seq >= plan.start, Entry.seq < plan.end)
            .order_by(Entry.seq),
            execution_options={"yield_per": page},
        )
        for seq, leaf, nodes in result:
            line = encode_entry_line(int(seq), bytes(leaf), bytes(nodes))
            buffer.append(line)
            held += len(line)
            while next_checkpoint is not None and next_checkpoint[0] == int(seq) + 1:
                buffer.append(encode_checkpoint_line(*next_checkpoint))
                next_checkpoint = next(pending, None)
            if held >= 1 << 16:
                yield b"".join(buffer)
                buffer.clear()
                held = 0
    if buffer:
        yield b"".join(buffer)


def write_export(ledger: Ledger, out: IO[bytes], *, start: int = 0, end: int | None = None) -> int:
    """Write entries ``[start, end)`` (default: the whole log, up to its latest checkpoint)
    to ``out`` in the ``lotledger-export`` format; return the export's end size."""
    plan = export_range(ledger, start, end)
    for chunk in stream_export(ledger, plan):
        out.write(chunk)
    return plan.end


def build_bundle(
    ledger: Ledger,
    seqs: Iterable[int],
    lot: tuple[str, str],
    *,
    note: str | None = None,
    scope: str = FULL_SCOPE,
) -> dict[str, Any]:
    """A ``lotledger-bundle`` (as a JSON-ready dict) holding ``seqs`` for ``lot``.

    Proofs are against the latest checkpoint (or ``note``, a checkpoint the log
    signed, to pin one). Every seq must be below that checkpoint's size. ``scope`` says
    whose view the entries are: ``"full"``, or ``"visible to ORG"`` (``scope_of``).
    """
    if note is None:
        size, _root, note = ledger.latest_checkpoint()
    else:
        size = parse_checkpoint(parse_note(note).text).size
    wanted = sorted(set(seqs))
    if wanted and not 0 <= wanted[0] <= wanted[-1] < size:
        raise InvalidRange(f"seqs must lie in [0, {size}), the signed checkpoint's size")
    entries = []
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        with read_transaction(ledger.engine) as conn:
            rows = dict(
                conn.execute(select(Entry.seq, Entry.leaf_bytes).where(Entry.seq.in_(chunk))).all()
            )
        for seq in chunk:
            proof = ledger.inclusion_proof(seq, size)
            entries.append(
                {
                    "seq": seq,
                    "leaf": base64.b64encode(bytes(rows[seq])).decode("ascii"),
                    "proof": [base64.b64encode(h).decode("ascii") for h in proof],
                }
            )
    key = ledger.verifier_key
    return {
        "format": BUNDLE_FORMAT,
        "version": BUNDLE_VERSION,
        "origin": ledger.origin,
        "key_id": key.key_id.hex(),
        "lot": {"gtin": lot[0], "lot": lot[1]},
        "scope": scope,
        "checkpoint": note,
        "entries": entries,
    }


#: The most entries one provenance bundle holds; a larger trace is audited from the export.
BUNDLE_MAX_ENTRIES = 10_000


def lot_bundle(ledger: Ledger, gtin: str, lot: str, *, viewer: str | None) -> dict[str, Any]:
    """The provenance bundle of a lot as ``viewer`` may see it (``ledger.lineage.visibility``; None
    sees everything): the entries of the lots in its trace, backward to the origins and
    forward to where the lot went, with inclusion proofs to the latest checkpoint.

    An organisation's bundle holds the entries it wrote or that are at, from or to its own
    locations (``visibility.concerns``), of the lots of its own trace; of a lot in one of
    its recalls, the whole trace's entries. The bundle's ``scope`` says which.

    Raises NotFound for an unknown lot or one the viewer may not see, and InvalidRange when
    the bundle would hold more than ``BUNDLE_MAX_ENTRIES`` entries.
    """
    start = [TraceStart(gtin, lot)]
    with read_transaction(ledger.engine) as conn:
        lot_ids: set[int] = set()
        for direction in ("backward", "forward"):
            lot_ids.update(trace(conn, start, direction, viewer=viewer).lot_ids)
        ids = sorted(lot_ids)
        seqs: set[int] = set()
        for i in range(0, len(ids), 500):
            rows = conn.execute(select(LotEvent.seq).where(LotEvent.lot_id.in_(ids[i : i + 500])))
            seqs.update(int(seq) for (seq,) in rows)
        if viewer is not None and not _recalled_by(conn, viewer, gtin, lot):
            seqs = _concerning(conn, seqs, viewer)
    if not seqs:  # a lot the viewer handled has an entry of its own; this is a guard
        raise NotFound(f"unknown lot {gtin}/{lot}")
    if len(seqs) > BUNDLE_MAX_ENTRIES:
        raise InvalidRange(
            f"the trace of {gtin}/{lot} holds {len(seqs)} entries, more than a bundle's "
            f"{BUNDLE_MAX_ENTRIES}: audit the log export instead (lotledger-verify log)"
        )
    return build_bundle(ledger, seqs, (gtin, lot), scope=scope_of(viewer))


def scope_of(viewer: str | None) -> str:
    """A bundle's ``scope``: ``"full"`` for a reader who sees everything, else whose view."""
    return FULL_SCOPE if viewer is None else f"{VISIBLE_TO}{viewer}"


def _recalled_by(conn: Connection, viewer: str, gtin: str, lot: str) -> bool:
    lot_id = conn.execute(select(Lot.id).where(Lot.gtin == gtin, Lot.lot == lot)).scalar_one()
    return bool(recalled_lots(conn, viewer, [int(lot_id)]))


def _concerning(conn: Connection, seqs: set[int], viewer: str) -> set[int]:
    """Those of ``seqs`` whose entries ``viewer`` may see (``visibility.concerns``)."""
    own = own_locations(conn, viewer)
    wanted = sorted(seqs)
    kept: set[int] = set()
    for i in range(0, len(wanted), 500):
        rows = conn.execute(
            select(Entry.seq, Entry.leaf_bytes).where(Entry.seq.in_(wanted[i : i + 500]))
        )
        kept.update(int(seq) for seq, leaf in rows if concerns(json.loads(leaf), viewer, own))
    return kept
