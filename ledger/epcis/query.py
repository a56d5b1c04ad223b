"""The EPCIS 2.0 query interface over the log: ``GET /epcis/v2/events`` and one event.

Events come from the log's entries themselves (the leaf bytes a verifier hashes), written
as EPCIS by ``mapping.to_epcis``; the event types with an EPCIS form are the ones capture
accepts (register, ship, receive, transform, sell, consume, dispose). Paging follows the
REST binding: ``perPage`` events at most, and an opaque ``nextPageToken`` for the rest.

Visibility (``ledger.lineage.visibility``'s rule): an organisation sees the events at its own
locations, the shipments to them and the receipts of what they shipped, and the
commissioning or transformation that made a lot it handled. Regulators and auditors
(viewer None) see every event.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from ledger.epcis.event_hash import utc_millis
from ledger.epcis.identifiers import gln_of_location, lot_class
from ledger.epcis.mapping import WRITTEN_TYPES, epcis_event_id, to_epcis
from ledger.epcis.vocabulary import bare
from ledger.lineage.visibility import visible_lots
from ledger.log.service import Ledger
from ledger.storage.db import read_transaction
from ledger.storage.schema import Entry, EpcisEventHash, Location, Lot, LotEvent
from verifier.gs1 import IdentifierError

DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 1000
_SCAN = 500  # entries read per round trip while filling a page
_TYPE_OF_EPCIS = {
    "ObjectEvent": {"register", "ship", "receive", "sell", "consume", "dispose"},
    "TransformationEvent": {"transform"},
}
_TYPE_OF_STEP = {
    "commissioning": {"register", "transform"},
    "shipping": {"ship"},
    "receiving": {"receive"},
    "retail_selling": {"sell"},
    "dispensing": {"consume"},
    "destroying": {"dispose"},
}
_DISPOSITION = {
    "active": {"register", "transform"},
    "in_transit": {"ship"},
    "in_progress": {"receive"},
    "retail_sold": {"sell"},
    "inactive": {"consume"},
    "destroyed": {"dispose"},
}


class QueryError(ValueError):
    """A query parameter that cannot be answered (named, with the reason)."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter


@dataclass
class EventQuery:
    """The standard parameters we answer; each list is OR-ed, the parameters AND-ed."""

    event_types: list[str] = field(default_factory=list)
    ge_event_time: str | None = None
    lt_event_time: str | None = None
    ge_record_time: str | None = None
    biz_steps: list[str] = field(default_factory=list)
    dispositions: list[str] = field(default_factory=list)
    biz_locations: list[str] = field(default_factory=list)
    read_points: list[str] = field(default_factory=list)
    epc_classes: list[str] = field(default_factory=list)
    any_epc_classes: list[str] = field(default_factory=list)
    epcs: list[str] = field(default_factory=list)
    event_ids: list[str] = field(default_factory=list)
    per_page: int = DEFAULT_PER_PAGE
    next_page_token: str | None = None


@dataclass
class Page:
    events: list[dict[str, Any]]
    next_page_token: str | None


def _time(parameter: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(parameter, f"{value!r} is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise QueryError(parameter, f"{value!r} has no UTC offset")
    return moment


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(utc_millis(text).replace("Z", "+00:00"))


def _token(after: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": after}).encode()).decode().rstrip("=")


def _after(token: str | None) -> int:
    if token is None:
        return -1
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        after = json.loads(raw)["after"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise QueryError("nextPageToken", "not a token this service gave out") from None
    if not isinstance(after, int) or after < -1:
        raise QueryError("nextPageToken", "not a token this service gave out")
    return after


def _types(query: EventQuery) -> set[str]:
    wanted = set(WRITTEN_TYPES)
    if query.event_types:
        unknown = [t for t in query.event_types if t not in _TYPE_OF_EPCIS]
        chosen = set().union(*(_TYPE_OF_EPCIS.get(t, set()) for t in query.event_types))
        if unknown and not chosen:
            return set()
        wanted &= chosen
    if query.biz_steps:
        wanted &= set().union(
            *(_TYPE_OF_STEP.get(bare("bizStep", s), set()) for s in query.biz_steps)
        )
    if query.dispositions:
        wanted &= set().union(
            *(_DISPOSITION.get(bare("disposition", d), set()) for d in query.dispositions)
        )
    return wanted


def _places(parameter: str, uris: Sequence[str], glns: Mapping[str, str]) -> set[str]:
    """Location ids of SGLNs or Digital Link URIs (a GLN no location has matches nothing)."""
    ids = set()
    for uri in uris:
        try:
            key = gln_of_location(uri)
        except IdentifierError as exc:
            raise QueryError(parameter, str(exc)) from None
        ids.add(glns.get(key, key))
    return ids


def _classes(parameter: str, uris: Sequence[str]) -> set[tuple[str, str]]:
    keys = set()
    for uri in uris:
        try:
            lot = lot_class(uri)
        except IdentifierError as exc:
            raise QueryError(parameter, str(exc)) from None
        keys.add((lot.gtin, lot.lot))
    return keys


def _event_lots(event: Mapping[str, Any], *, outputs_only: bool = False) -> list[tuple[str, str]]:
    if event["type"] == "transform":
        items = event["outputs"] if outputs_only else [*event["inputs"], *event["outputs"]]
        return [(i["lot"]["gtin"], i["lot"]["lot"]) for i in items]
    return [(event["lot"]["gtin"], event["lot"]["lot"])]


def events(ledger: Ledger, query: EventQuery, *, viewer: str | None) -> Page:
    """One page of the events ``viewer`` may see that match ``query``, oldest first."""
    if not 1 <= query.per_page <= MAX_PER_PAGE:
        raise QueryError("perPage", f"must be 1 to {MAX_PER_PAGE}")
    after = _after(query.next_page_token)
    ge_time = _time("GE_eventTime", query.ge_event_time)
    lt_time = _time("LT_eventTime", query.lt_event_time)
    ge_record = _time("GE_recordTime", query.ge_record_time)
    types = _types(query)
    if query.epcs or not types:
        return Page([], None)  # Lotledger records lots (classes), never single instances
    with read_transaction(ledger.engine) as conn:
        locations = conn.execute(select(Location.id, Location.gln, Location.org_id)).all()
        gln_of = {str(i): (str(g) if g else None) for i, g, _ in locations}
        id_of_gln = {str(g): str(i) for i, g, _ in locations if g}
        own = {str(i) for i, _, o in locations if o == viewer} if viewer is not None else set()
        biz = _places("EQ_bizLocation", query.biz_locations, id_of_gln)
        read = _places("EQ_readPoint", query.read_points, id_of_gln)
        classes = _classes("MATCH_epcClass", query.epc_classes)
        any_classes = _classes("MATCH_anyEPCClass", query.any_epc_classes)
        seqs = _candidate_seqs(conn, classes | any_classes, query.event_ids)

        def keep(event: Mapping[str, Any], recorded_at: str) -> bool:
            if biz and event["location"] not in biz:
                return False
            if read and event["location"] not in read:
                return False
            when = _instant(event["event_time"])
            if (ge_time and when < ge_time) or (lt_time and when >= lt_time):
                return False
            if ge_record and _instant(recorded_at) < ge_record:
                return False
            if classes and not (event["type"] != "transform" and set(_event_lots(event)) & classes):
                return False
            if any_classes and not set(_event_lots(event)) & any_classes:
                return False
            return not (
                query.event_ids
                and epcis_event_id(event) not in query.event_ids
                and f"urn:uuid:{event['event_id']}" not in query.event_ids
            )

        found, last = _scan(conn, types, seqs, after, query.per_page, keep)
        visible = _visible(conn, found, viewer, own)
    answer = [to_epcis(event, recorded_at, gln_of) for _, event, recorded_at in visible]
    more = last is not None
    return Page(answer, _token(last) if more and last is not None else None)


def _candidate_seqs(
    conn: Connection, classes: set[tuple[str, str]], event_ids: Sequence[str]
) -> set[int] | None:
    """The entries a class or eventID filter can match (None: no such filter)."""
    seqs: set[int] | None = None
    if classes:
        lot_ids = [
            int(r[0])
            for key in sorted(classes)
            for r in conn.execute(select(Lot.id).where(Lot.gtin == key[0], Lot.lot == key[1]))
        ]
        seqs = set(conn.execute(select(LotEvent.seq).where(LotEvent.lot_id.in_(lot_ids))).scalars())
    if event_ids:
        hashes = [i for i in event_ids if i.startswith("ni:///")]
        uuids = [i[9:].lower() for i in event_ids if i.lower().startswith("urn:uuid:")]
        by_id: set[int] = set()
        if hashes:
            by_id |= set(
                conn.execute(
                    select(EpcisEventHash.seq).where(EpcisEventHash.event_hash.in_(hashes))
                ).scalars()
            )
        if uuids:
            by_id |= set(conn.execute(select(Entry.seq).where(Entry.event_id.in_(uuids))).scalars())
        seqs = by_id if seqs is None else seqs & by_id
    return seqs


def _scan(
    conn: Connection,
    types: set[str],
    seqs: set[int] | None,
    after: int,
    per_page: int,
    keep: Callable[[Mapping[str, Any], str], bool],
) -> tuple[list[tuple[int, dict[str, Any], str]], int | None]:
    """Matching entries after ``after``, up to ``per_page``; and the seq to continue after
    (None when nothing further can match)."""
    found: list[tuple[int, dict[str, Any], str]] = []
    if seqs is not None:
        pending = sorted(s for s in seqs if s > after)
    cursor = after
    while len(found) < per_page:
        stmt = select(Entry.seq, Entry.leaf_bytes).where(
            Entry.event_type.in_(sorted(types)), Entry.seq > cursor
        )
        if seqs is not None:
            chunk = pending[:_SCAN]
            pending = pending[_SCAN:]
            if not chunk:
                return found, None
            stmt = stmt.where(Entry.seq.in_(chunk))
        rows = conn.execute(stmt.order_by(Entry.seq).limit(_SCAN)).all()
        if not rows:
            return found, None
        for seq, leaf in rows:
            envelope = json.loads(leaf)
            cursor = int(seq)
            if keep(envelope["event"], envelope["recorded_at"]):
                found.append((cursor, envelope["event"], envelope["recorded_at"]))
                if len(found) == per_page:
                    return found, cursor
        if len(rows) < _SCAN and seqs is None:
            return found, None
    return found, cursor


def _visible(
    conn: Connection,
    found: Iterable[tuple[int, dict[str, Any], str]],
    viewer: str | None,
    own: set[str],
) -> list[tuple[int, dict[str, Any], str]]:
    items = list(found)
    if viewer is None:
        return items
    out = []
    made: list[tuple[int, dict[str, Any], str]] = []
    for item in items:
        event = item[1]
        if (
            event["location"] in own
            or (event["type"] == "ship" and event["to_location"] in own)
            or (event["type"] == "receive" and event["from_location"] in own)
        ):
            out.append(item)
        elif event["type"] in ("register", "transform"):
            made.append(item)
    if made:
        keys = {key for _, e, _ in made for key in _event_lots(e, outputs_only=True)}
        ids = {
            (str(g), str(lt)): int(i)
            for key in sorted(keys)
            for i, g, lt in conn.execute(
                select(Lot.id, Lot.gtin, Lot.lot).where(Lot.gtin == key[0], Lot.lot == key[1])
            )
        }
        seen = visible_lots(conn, viewer, sorted(ids.values()))
        for item in made:
            if any(ids.get(k) in seen for k in _event_lots(item[1], outputs_only=True)):
                out.append(item)
    out.sort(key=lambda i: i[0])
    return out


def event(ledger: Ledger, event_id: str, *, viewer: str | None) -> dict[str, Any] | None:
    """One event by its EPCIS eventID (hash ID or urn:uuid), if ``viewer`` may see it."""
    page = events(ledger, EventQuery(event_ids=[event_id], per_page=1), viewer=viewer)
    return page.events[0] if page.events else None


def query_document(events_: list[dict[str, Any]], created: str) -> dict[str, Any]:
    """An EPCISQueryDocument holding ``events_`` (the answer of ``GET /events``)."""
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": created,
        "epcisBody": {
            "queryResults": {
                "queryName": "SimpleEventQuery",
                "resultsBody": {"eventList": events_},
            }
        },
    }
