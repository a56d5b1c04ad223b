"""An entry's offline proof in the C2SP tlog-proof form (``verifier.tlog_proof``).

The proof holds the entry's leaf bytes (as its ``extra``), its inclusion proof and the
latest checkpoint with the witnesses' cosignatures collected for it: one file that
``lotledger-verify tlog-proof`` (or any tlog-proof client given the leaf) checks offline.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from ledger.errors import NotFound
from ledger.lineage.visibility import concerns, own_locations
from ledger.log.service import Ledger
from ledger.log.witnessing import cosigned_checkpoint
from ledger.storage.db import read_transaction
from ledger.storage.schema import Entry
from verifier.note import parse_checkpoint, parse_note
from verifier.tlog_proof import TlogProof

__all__ = ["entry_tlog_proof", "event_tlog_proof"]


def entry_tlog_proof(ledger: Ledger, seq: int) -> str:
    """The tlog-proof of entry ``seq`` against the latest (cosigned) checkpoint.

    Raises NotFound when ``seq`` is not below that checkpoint's size.
    """
    note = cosigned_checkpoint(ledger)
    size = parse_checkpoint(parse_note(note).text).size
    if not 0 <= seq < size:
        raise NotFound(f"no entry {seq}: the latest checkpoint covers entries 0..{size - 1}")
    with read_transaction(ledger.engine) as conn:
        leaf = conn.execute(select(Entry.leaf_bytes).where(Entry.seq == seq)).scalar_one()
    proof = ledger.inclusion_proof(seq, size)
    return TlogProof(seq, tuple(proof), note, bytes(leaf)).encode()


def event_tlog_proof(ledger: Ledger, event_id: str, *, viewer: str | None) -> tuple[int, str]:
    """The entry's seq and tlog-proof of the event logged under ``event_id``, if ``viewer``
    may see that entry (``visibility.concerns``; None sees everything).

    Raises NotFound for an unknown event and for one the viewer may not see (the same
    answer, so that a probe learns nothing).
    """
    with read_transaction(ledger.engine) as conn:
        row = conn.execute(
            select(Entry.seq, Entry.leaf_bytes).where(Entry.event_id == event_id)
        ).one_or_none()
        visible = row is not None and (
            viewer is None or concerns(_envelope(row[1]), viewer, own_locations(conn, viewer))
        )
    if row is None or not visible:
        raise NotFound(f"no event {event_id} that this key may see")
    seq = int(row[0])
    return seq, entry_tlog_proof(ledger, seq)


def _envelope(leaf: bytes) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(bytes(leaf))
    return value
