"""Server side of the verifier's formats: the log export and provenance bundles.

``write_export`` streams every entry (with the tree nodes it completes) and every
stored checkpoint in the ``lotledger-export`` format that ``verifier.export``
documents and alone parses. ``build_bundle`` assembles a ``lotledger-bundle``
(see ``verifier.bundle``) for a lot from the seqs its trace found, with inclusion
proofs against the latest checkpoint.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import IO, Any

from sqlalchemy import select

from ledger.db import read_transaction
from ledger.errors import InvalidRange
from ledger.log import Ledger
from ledger.schema import Checkpoint, Entry, LotEvent
from ledger.trace import TraceStart, trace
from verifier.bundle import FORMAT as BUNDLE_FORMAT
from verifier.bundle import VERSION as BUNDLE_VERSION
from verifier.export import ExportHeader, encode_checkpoint_line, encode_entry_line
from verifier.note import parse_checkpoint, parse_note

__all__ = ["build_bundle", "write_export"]


def write_export(ledger: Ledger, out: IO[bytes], *, page: int = 5000) -> int:
    """Write the whole log, up to its latest checkpoint, to ``out``; return its size.

    One read transaction (one snapshot): entries appended meanwhile are not
    included, and the export ends with the checkpoint at its size.
    """
    with read_transaction(ledger.engine) as conn:
        row = conn.execute(
            select(Checkpoint.tree_size, Checkpoint.note)
            .order_by(Checkpoint.tree_size.desc())
            .limit(1)
        ).first()
        if row is None:
            size, final_note = 0, ledger.latest_checkpoint()[2]
        else:
            size, final_note = int(row[0]), str(row[1])
        out.write(ExportHeader(ledger.origin, str(ledger.verifier_key), size).encode())
        if size == 0:
            out.write(encode_checkpoint_line(0, final_note))
            return 0
        # Checkpoints are one per append batch: far fewer than entries, held in memory.
        pending = iter(
            [
                (int(s), str(n))
                for s, n in conn.execute(
                    select(Checkpoint.tree_size, Checkpoint.note)
                    .where(Checkpoint.tree_size <= size)
                    .order_by(Checkpoint.tree_size)
                )
            ]
        )
        next_checkpoint = next(pending, None)
        result = conn.execute(
            select(Entry.seq, Entry.leaf_bytes, Entry.nodes)
            .where(Entry.seq < size)
            .order_by(Entry.seq),
            execution_options={"yield_per": page},
        )
        for seq, leaf, nodes in result:
            out.write(encode_entry_line(int(seq), bytes(leaf), bytes(nodes)))
            while next_checkpoint is not None and next_checkpoint[0] == int(seq) + 1:
                out.write(encode_checkpoint_line(*next_checkpoint))
                next_checkpoint = next(pending, None)
    return size


def build_bundle(
    ledger: Ledger, seqs: Iterable[int], lot: tuple[str, str], *, note: str | None = None
) -> dict[str, Any]:
    """A ``lotledger-bundle`` (as a JSON-ready dict) holding ``seqs`` for ``lot``.

    Proofs are against the latest checkpoint (or ``note``, a checkpoint the log
    signed, to pin one). Every seq must be below that checkpoint's size.
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
        "checkpoint": note,
        "entries": entries,
    }


#: The most entries one provenance bundle holds; a larger trace is audited from the export.
BUNDLE_MAX_ENTRIES = 10_000


def lot_bundle(ledger: Ledger, gtin: str, lot: str) -> dict[str, Any]:
    """The provenance bundle of a lot: every entry of every lot in its trace, backward to
    its origins and forward to where it went, with inclusion proofs to the latest checkpoint.

    Raises NotFound for an unknown lot and InvalidRange when the trace holds more than
    ``BUNDLE_MAX_ENTRIES`` entries.
    """
    start = [TraceStart(gtin, lot)]
    with read_transaction(ledger.engine) as conn:
        lot_ids: set[int] = set()
        for direction in ("backward", "forward"):
            lot_ids.update(trace(conn, start, direction).lot_ids)
        ids = sorted(lot_ids)
        seqs: set[int] = set()
        for i in range(0, len(ids), 500):
            rows = conn.execute(select(LotEvent.seq).where(LotEvent.lot_id.in_(ids[i : i + 500])))
            seqs.update(int(seq) for (seq,) in rows)
    if len(seqs) > BUNDLE_MAX_ENTRIES:
        raise InvalidRange(
            f"the trace of {gtin}/{lot} holds {len(seqs)} entries, more than a bundle's "
            f"{BUNDLE_MAX_ENTRIES}: audit the log export instead (lotledger-verify log)"
        )
    return build_bundle(ledger, seqs, (gtin, lot))
