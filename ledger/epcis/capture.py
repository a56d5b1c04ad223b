"""Capture: an EPCIS 2.0 document becomes one atomic append, and a capture job says how it went.

``capture`` checks the document against GS1's schema, computes each event's CBV 2.0 hash
ID, maps each to our event (``mapping``), drops the events this organisation captured
before (same hash: reported as duplicates with their entry's seq), and appends the rest
as one batch through ``Ledger.append``: the same rules as ``POST /v1/events`` (only the
caller's own locations, stock, holds, known lots and locations). All or none: if any
event is refused, nothing is appended and the job lists every error with the event's
index and a JSON pointer into the document.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select

from ledger.epcis.document import schema_errors
from ledger.epcis.event_hash import UnhashableEvent, event_hash_id
from ledger.epcis.identifiers import lot_class
from ledger.epcis.mapping import MappingError, from_epcis
from ledger.errors import (
    BatchRejected,
    EventValidationError,
    ForbiddenLocation,
    ForbiddenLot,
    IdempotencyConflict,
    InsufficientStock,
    LedgerError,
    LotOnHold,
    NotFound,
    Problem,
    RuleViolation,
)
from ledger.log.service import Ledger
from ledger.storage.db import read_transaction, write_transaction
from ledger.storage.schema import EpcisCaptureJob, EpcisEventHash, Product
from verifier.gs1 import IdentifierError

PROBLEMS = "https://lotledger.dev/problems/"
MAX_EVENTS = 10_000
#: Our event fields and where the same fact sits in an EPCIS event.
_POINTER = {
    "event_time": "/eventTime",
    "location": "/bizLocation/id",
    "to_location": "/destinationList",
    "from_location": "/sourceList",
    "lot": "/quantityList/0/epcClass",
    "quantity": "/quantityList/0/quantity",
    "unit": "/quantityList/0/uom",
    "expiry": "/ilmd",
    "reference": "/bizTransactionList",
    "event_id": "/eventID",
    "epcis_hash": "",
    "inputs": "/inputQuantityList",
    "outputs": "/outputQuantityList",
}
_KIND = (
    (InsufficientStock, 409, "insufficient-stock"),
    (LotOnHold, 409, "lot-on-hold"),
    (ForbiddenLocation, 403, "forbidden-location"),
    (ForbiddenLot, 403, "forbidden-lot"),
    (RuleViolation, 409, "rule-violation"),
    (EventValidationError, 422, "validation-error"),
)


@dataclass
class CaptureJob:
    """The REST binding's capture job: ``success``, and every error (RFC 9457 problems with
    ``eventIndex`` and ``pointer``), or each event's entry."""

    capture_id: str
    created_at: str
    success: bool
    event_count: int
    errors: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "captureID": self.capture_id,
            "createdAt": self.created_at,
            "finishedAt": self.created_at,
            "running": False,
            "success": self.success,
            "captureErrorBehaviour": "rollback",
            "errors": self.errors,
            "events": self.events,
        }


def _error(
    index: int | None, pointer: str, detail: str, slug: str = "validation-error", status: int = 422
) -> dict[str, Any]:
    return {
        "type": PROBLEMS + slug,
        "title": "Event refused",
        "status": status,
        "detail": detail,
        "eventIndex": index,
        "pointer": pointer,
    }


def _event_pointer(index: int, our_field: str) -> str:
    head = our_field.split(".", 1)[0]
    return f"/epcisBody/eventList/{index}" + _POINTER.get(head, "")


def capture(ledger: Ledger, document: Any, *, actor: str) -> CaptureJob:
    """Capture ``document`` (parsed JSON) as organisation ``actor``; the job is stored and
    returned. Never raises for a document's content: every problem is in the job."""
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    job = CaptureJob(uuid.uuid4().hex, created, False, 0)
    events = _event_list(document)
    job.event_count = len(events)
    job.errors = [_error(i, p, m) for i, p, m in schema_errors(document)]
    if not job.errors and not events:
        job.errors = [_error(None, "/epcisBody/eventList", "the document holds no events")]
    if not job.errors and len(events) > MAX_EVENTS:
        job.errors = [
            _error(None, "/epcisBody/eventList", f"a document holds at most {MAX_EVENTS} events")
        ]
    if not job.errors:
        _capture_events(ledger, document, events, actor, job)
    job.success = not job.errors
    _store(ledger, job, actor)
    return job


def _event_list(document: Any) -> list[Any]:
    if isinstance(document, dict):
        body = document.get("epcisBody")
        if isinstance(body, dict) and isinstance(body.get("eventList"), list):
            return list(body["eventList"])
    return []


def _capture_events(
    ledger: Ledger, document: Mapping[str, Any], events: Sequence[Any], actor: str, job: CaptureJob
) -> None:
    context = document.get("@context")
    hashes: list[str] = []
    for index, event in enumerate(events):
        try:
            hashes.append(event_hash_id(event, context))
        except (UnhashableEvent, IdentifierError) as exc:
            job.errors.append(_error(index, f"/epcisBody/eventList/{index}", str(exc)))
            hashes.append("")
    if job.errors:
        return
    products = _products(ledger, events)
    mapped: list[dict[str, Any]] = []
    for index, (event, event_hash) in enumerate(zip(events, hashes, strict=True)):
        try:
            mapped.append(from_epcis(event, event_hash, products))
        except MappingError as exc:
            job.errors.append(_error(index, f"/epcisBody/eventList/{index}{exc.pointer}", str(exc)))
    if job.errors:
        return
    known = _known_hashes(ledger, actor, hashes)
    fresh: list[int] = []
    first_of: dict[str, int] = {}
    outcome: dict[int, dict[str, Any]] = {}
    for index, event_hash in enumerate(hashes):
        if event_hash in known:
            outcome[index] = {"seq": known[event_hash], "duplicate": True}
        elif event_hash in first_of:
            outcome[index] = {"sameAs": first_of[event_hash], "duplicate": True}
        else:
            first_of[event_hash] = index
            fresh.append(index)
    if fresh:
        try:
            result = ledger.append([mapped[i] for i in fresh], actor=actor)
        except LedgerError as exc:
            job.errors = _ledger_errors(exc, fresh)
            return
        for receipt in result.receipts:
            outcome[fresh[receipt.index]] = {
                "seq": receipt.seq,
                "leafHash": receipt.leaf_hash.hex(),
                "duplicate": receipt.duplicate,
            }
    for index, event_hash in enumerate(hashes):
        entry = outcome[index]
        if "sameAs" in entry:
            entry = {**outcome[entry["sameAs"]], "duplicate": True}
        job.events.append({"eventIndex": index, "eventID": event_hash, **entry})


def _ledger_errors(exc: LedgerError, fresh: Sequence[int]) -> list[dict[str, Any]]:
    """Every error of a refused append, with indexes back in the document's numbering."""
    if isinstance(exc, BatchRejected):
        return [e for err in exc.errors for e in _ledger_errors(err, fresh)]
    if isinstance(exc, EventValidationError):
        return [_problem_error(p, fresh, 422, "validation-error") for p in exc.problems]
    if isinstance(exc, RuleViolation):
        status, slug = next((s, g) for kind, s, g in _KIND if isinstance(exc, kind))
        return [_problem_error(exc.problem(), fresh, status, slug)]
    if isinstance(exc, IdempotencyConflict):
        index = fresh[exc.index]
        return [
            _error(
                index,
                f"/epcisBody/eventList/{index}/eventID",
                f"eventID urn:uuid:{exc.event_id} is already entry {exc.seq} with other content",
                "idempotency-conflict",
                409,
            )
        ]
    return [_error(None, "", str(exc), "ledger-error", 409)]


def _problem_error(p: Problem, fresh: Sequence[int], status: int, slug: str) -> dict[str, Any]:
    index = fresh[p.index] if 0 <= p.index < len(fresh) else None
    pointer = _event_pointer(index, p.field) if index is not None else ""
    return _error(index, pointer, p.message, slug, status)


def _quantity_classes(event: Any) -> list[str]:
    found = []
    if isinstance(event, dict):
        for key in ("quantityList", "outputQuantityList"):
            for item in event.get(key) or ():
                if isinstance(item, dict) and isinstance(item.get("epcClass"), str):
                    found.append(item["epcClass"])
    return found


def _products(ledger: Ledger, events: Sequence[Any]) -> dict[str, str]:
    gtins = set()
    for event in events:
        for epc_class in _quantity_classes(event):
            try:
                gtins.add(lot_class(epc_class).gtin)
            except IdentifierError:
                continue  # reported by the mapping, with its pointer
    if not gtins:
        return {}
    with read_transaction(ledger.engine) as conn:
        rows = conn.execute(
            select(Product.gtin, Product.description).where(Product.gtin.in_(sorted(gtins)))
        )
        return {str(g): str(d) for g, d in rows}


def _known_hashes(ledger: Ledger, actor: str, hashes: Sequence[str]) -> dict[str, int]:
    wanted = sorted(set(hashes))
    found: dict[str, int] = {}
    with read_transaction(ledger.engine) as conn:
        for start in range(0, len(wanted), 400):
            rows = conn.execute(
                select(EpcisEventHash.event_hash, EpcisEventHash.seq).where(
                    EpcisEventHash.org_id == actor,
                    EpcisEventHash.event_hash.in_(wanted[start : start + 400]),
                )
            )
            found.update((str(h), int(s)) for h, s in rows)
    return found


def _store(ledger: Ledger, job: CaptureJob, actor: str) -> None:
    outcome = json.dumps({"errors": job.errors, "events": job.events}, separators=(",", ":"))
    with write_transaction(ledger.engine) as conn:
        conn.execute(
            insert(EpcisCaptureJob).values(
                id=job.capture_id,
                org_id=actor,
                created_at=job.created_at,
                success=job.success,
                event_count=job.event_count,
                outcome=outcome,
            )
        )


def capture_job(ledger: Ledger, capture_id: str, *, org_id: str) -> CaptureJob:
    """A capture job of ``org_id``'s; another organisation's is not found."""
    job = EpcisCaptureJob
    with read_transaction(ledger.engine) as conn:
        row = conn.execute(
            select(job.created_at, job.success, job.event_count, job.outcome).where(
                job.id == capture_id, job.org_id == org_id
            )
        ).first()
    if row is None:
        raise NotFound(f"no capture job {capture_id}")
    created_at, success, count, text = row
    outcome = json.loads(text)
    return CaptureJob(
        capture_id, str(created_at), bool(success), int(count), outcome["errors"], outcome["events"]
    )
