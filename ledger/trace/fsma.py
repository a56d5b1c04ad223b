"""Exports of a trace: the FDA FSMA 204 electronic sortable spreadsheet, and JSON.

One spreadsheet row per critical tracking event (21 CFR 1.1455(c)(3)(ii)) of the
traced lots, with its key data elements. The events are the log's own, found
through ``lot_events`` for the affected lots, and kept when every node they
touch is part of the trace: a shipment whose two ends were both reached, a
receipt likewise, a transformation for each traced output lot, the event where a
lot was registered. Sales and disposals are not critical tracking events; the
trace's quantities (and a recall's dispositions) report them.

Critical tracking events, by the KDE rules of 21 CFR 1.1325-1.1350:

* ``register`` of kind ``harvest``: Harvesting; ``land``: First Land-Based
  Receiving; ``pack`` and ``produce``: Initial Packing. A registered lot has no
  input lots, so it is where its traceability lot code was first assigned to a
  food not made from traced lots (shell eggs packed at the farm, for example).
* ``transform`` (which names its inputs): Transformation, one row per traced
  output lot, with the input lots' codes, product descriptions and the quantity used
  of each (1.1350(a)(1)), as lists in the same order.
* ``ship``: Shipping; ``receive``: Receiving.

Times: every timestamp of every export is UTC to the second, ``2026-11-24T07:30:00Z``
(``export_time``), whatever offset the event was written with. ``Event Date`` is
the calendar date where the event happened (the date in the event's own offset),
which is the date FSMA asks for.

Reference documents: the event's ``reference`` (purchase order, bill of lading,
invoice, advance shipping notice) under its FSMA name; a shipment without one
cites its ``shipment_id`` as the advance shipping notice; a receipt without one
cites the document of the shipment it received. An event with no document at all
leaves both columns empty (the ``Ledger Entry`` column always names the record).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

from sqlalchemy import Connection, Engine, select

from ledger import xlsx
from ledger.lineage.graph import Direction, ProductRange, TraceResult, TraceStart, trace
from ledger.quantity import parse_decimal
from ledger.storage.db import read_transaction
from ledger.storage.schema import Entry, Location, Lot, LotEvent, Organisation

COLUMNS: tuple[str, ...] = (
    "Traceability Lot Code (TLC)",
    "Product Description",
    "Quantity",
    "Unit of Measure",
    "Critical Tracking Event (CTE)",
    "Event Date",
    "Event Time (UTC)",
    "Location Description",
    "Ship-From Location",
    "Ship-To Location",
    "Traceability Lot Code Source",
    "Input Traceability Lot Codes",
    "Input Product Descriptions",
    "Input Quantities",
    "Reference Document Type",
    "Reference Document Number",
    "GTIN",
    "Lot",
    "Ledger Entry",
)
#: How the XLSX types each column (the CSV and JSON carry the same values as strings).
KINDS: dict[str, xlsx.Kind] = {
    "Quantity": "number",
    "Event Date": "date",
    "Event Time (UTC)": "datetime",
    "Ledger Entry": "number",
}

_CTE = {
    "harvest": "Harvesting",
    "pack": "Initial Packing",
    "produce": "Initial Packing",
    "land": "First Land-Based Receiving",
    "ship": "Shipping",
    "receive": "Receiving",
    "transform": "Transformation",
}
#: Reference document types under the names 21 CFR 1.1310 uses.
DOCUMENT_TYPES = {
    "po": "Purchase Order",
    "bol": "Bill of Lading",
    "inv": "Invoice",
    "desadv": "Advance Shipping Notice",
    "recall": "Recall Notice",
    "other": "Other",
}
EXPORT_FORMAT = "lotledger.trace-export"
EXPORT_VERSION = 2
MISSING_ADDRESS = "address not on file"


def tlc(gtin: str, lot: str) -> str:
    """The traceability lot code as a GS1 element string: (01) GTIN, (10) lot."""
    return f"(01){gtin}(10){lot}"


@lru_cache(maxsize=65536)
def export_time(value: str) -> str:
    """An RFC 3339 time (any offset, any fraction) in the exports' one form: UTC, to the
    second, ``Z`` (``2026-11-24T07:30:00Z``)."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def export_time_or_none(value: str | None) -> str | None:
    return None if value is None else export_time(value)


def fsma_rows(db: Engine | Connection, result: TraceResult) -> list[dict[str, str]]:
    """The spreadsheet's rows (dicts keyed by ``COLUMNS``), sorted by time then entry."""
    if isinstance(db, Engine):
        with read_transaction(db) as conn:
            return _rows(conn, result)
    return _rows(db, result)


def _rows(conn: Connection, result: TraceResult) -> list[dict[str, str]]:
    nodes = {(n.gtin, n.lot, n.location) for n in result.nodes}
    lot_ids = result.lot_ids
    entries: dict[int, dict[str, Any]] = {}
    loads = json.loads
    for chunk in _chunks(lot_ids):
        stmt = (
            select(Entry.seq, Entry.leaf_bytes)
            .join(LotEvent, LotEvent.seq == Entry.seq)
            .where(LotEvent.lot_id.in_(chunk), Entry.event_type.in_(list(_EVENTS)))
        )
        # Thousands of rows: the driver's tuples, without SQLAlchemy's Row layer.
        for seq, data in _fetchall(conn, stmt):
            if seq not in entries:  # a transformation touches several traced lots
                entries[seq] = loads(data)["event"]
    lots = {(n.gtin, n.lot): n for n in result.nodes}
    origins = _origins(conn, lot_ids)
    names = location_descriptions(conn, {loc for _, _, loc in nodes} | set(origins.values()))
    documents = _documents(entries)
    products = _input_products(conn, entries)
    rows: list[tuple[tuple[str, int, int], dict[str, str]]] = []
    for seq, e in entries.items():
        made = _event_rows(e, nodes, lots, origins, names, documents[seq], products)
        for pos, row in enumerate(made):
            row["Ledger Entry"] = str(seq)
            rows.append(((row["Event Time (UTC)"], seq, pos), row))
    rows.sort(key=lambda r: r[0])
    return [r for _, r in rows]


_EVENTS = ("register", "ship", "receive", "transform")


def _event_rows(
    e: dict[str, Any],
    nodes: set[tuple[str, str, str]],
    lots: dict[tuple[str, str], Any],
    origins: dict[tuple[str, str], str],
    names: dict[str, str],
    document: tuple[str, str],
    products: dict[tuple[str, str], str],
) -> Iterable[dict[str, str]]:
    etype, loc = e["type"], e["location"]
    when = e["event_time"]

    def row(gtin: str, lot: str, qty: str, unit: str, cte: str) -> dict[str, str]:
        node = lots[(gtin, lot)]
        return {
            "Traceability Lot Code (TLC)": tlc(gtin, lot),
            "Product Description": node.product,
            "Quantity": qty,
            "Unit of Measure": unit,
            "Critical Tracking Event (CTE)": cte,
            "Event Date": when[:10],
            "Event Time (UTC)": export_time(when),
            "Location Description": names.get(loc, loc),
            "Ship-From Location": "",
            "Ship-To Location": "",
            "Traceability Lot Code Source": names.get(origins.get((gtin, lot), ""), ""),
            "Input Traceability Lot Codes": "",
            "Input Product Descriptions": "",
            "Input Quantities": "",
            "Reference Document Type": document[0],
            "Reference Document Number": document[1],
            "GTIN": gtin,
            "Lot": lot,
        }

    if etype == "transform":
        ins = e["inputs"]
        inputs = "; ".join(tlc(i["lot"]["gtin"], i["lot"]["lot"]) for i in ins)
        described = "; ".join(products.get((i["lot"]["gtin"], i["lot"]["lot"]), "") for i in ins)
        used = "; ".join(f"{i['quantity']} {i['unit']}" for i in ins)
        for out in e["outputs"]:
            g, code = out["lot"]["gtin"], out["lot"]["lot"]
            if (g, code, loc) in nodes:
                r = row(g, code, out["quantity"], out["unit"], _CTE["transform"])
                r["Input Traceability Lot Codes"] = inputs
                r["Input Product Descriptions"] = described
                r["Input Quantities"] = used
                yield r
        return
    g, code = e["lot"]["gtin"], e["lot"]["lot"]
    if (g, code, loc) not in nodes:
        return
    if etype == "register":
        yield row(g, code, e["quantity"], e["unit"], _CTE[e.get("kind", "pack")])
    elif etype == "ship" and (g, code, e["to_location"]) in nodes:
        r = row(g, code, e["quantity"], e["unit"], _CTE["ship"])
        r["Ship-From Location"] = names.get(loc, loc)
        r["Ship-To Location"] = names.get(e["to_location"], e["to_location"])
        yield r
    elif etype == "receive" and (g, code, e["from_location"]) in nodes:
        r = row(g, code, e["quantity"], e["unit"], _CTE["receive"])
        r["Ship-From Location"] = names.get(e["from_location"], e["from_location"])
        r["Ship-To Location"] = names.get(loc, loc)
        yield r


def _own_document(e: dict[str, Any]) -> tuple[str, str] | None:
    ref = e.get("reference")
    if ref:
        return DOCUMENT_TYPES[ref["type"]], ref["number"]
    if e.get("shipment_id"):
        return DOCUMENT_TYPES["desadv"], e["shipment_id"]
    return None


def _documents(entries: dict[int, dict[str, Any]]) -> dict[int, tuple[str, str]]:
    """Each entry's reference document. A receipt that names none cites the one of the
    shipment it received: receipts take from the open shipments of the lot on the same
    route oldest first (those with the receipt's ``shipment_id`` if it gives one), as
    the ledger's read models do."""
    out: dict[int, tuple[str, str]] = {}
    # (gtin, lot, from, to) -> shipments on that route: [left to receive, shipment_id, doc]
    routes: dict[tuple[str, str, str, str], list[list[Any]]] = {}
    for seq in sorted(entries):
        e = entries[seq]
        own = _own_document(e)
        if e["type"] == "ship":
            key = (e["lot"]["gtin"], e["lot"]["lot"], e["location"], e["to_location"])
            routes.setdefault(key, []).append(
                [parse_decimal(e["quantity"]), e.get("shipment_id"), own]
            )
        elif e["type"] == "receive":
            key = (e["lot"]["gtin"], e["lot"]["lot"], e["from_location"], e["location"])
            wanted = e.get("shipment_id")
            open_ = [
                s for s in routes.get(key, []) if s[0] > 0 and (wanted is None or s[1] == wanted)
            ]
            remaining = parse_decimal(e["quantity"])
            for s in open_:
                take = remaining if s is open_[-1] else min(remaining, s[0])
                s[0] -= take
                remaining -= take
                if remaining <= 0:
                    break
            if own is None and open_:
                own = open_[0][2]
        out[seq] = own or ("", "")
    return out


def location_descriptions(conn: Connection, ids: set[str]) -> dict[str, str]:
    """FSMA location descriptions from master data (21 CFR 1.1310: business name,
    physical address; the GLN when there is one; the ledger's location id), e.g.
    ``Corner Grocer Supermarkets: Corner Grocer, High Street, 12 High Street, Leeds,
    GLN 9506000134376, (cg-store-1)``. A location whose address is not on file says so."""
    names: dict[str, str] = {}
    for chunk in _chunks(sorted(ids)):
        for loc, name, gln, address, business in conn.execute(
            select(Location.id, Location.name, Location.gln, Location.address, Organisation.name)
            .join(Organisation, Organisation.id == Location.org_id)
            .where(Location.id.in_(chunk))
        ):
            parts = [name, address or MISSING_ADDRESS, f"GLN {gln}" if gln else None, f"({loc})"]
            names[loc] = f"{business}: " + ", ".join(p for p in parts if p)
    return names


def organisation_names(conn: Connection, ids: set[str]) -> dict[str, str]:
    return {
        str(org): str(name)
        for chunk in _chunks(sorted(ids))
        for org, name in conn.execute(
            select(Organisation.id, Organisation.name).where(Organisation.id.in_(chunk))
        )
    }


def _input_products(
    conn: Connection, entries: dict[int, dict[str, Any]]
) -> dict[tuple[str, str], str]:
    """The product description of every input lot of the transformations in ``entries``
    (an input need not be part of the trace: a forward trace does not reach it)."""
    wanted = {
        (i["lot"]["gtin"], i["lot"]["lot"])
        for e in entries.values()
        if e["type"] == "transform"
        for i in e["inputs"]
    }
    out: dict[tuple[str, str], str] = {}
    for chunk in _chunks(sorted({code for _, code in wanted})):
        for g, code, product in conn.execute(
            select(Lot.gtin, Lot.lot, Lot.product).where(Lot.lot.in_(chunk))
        ):
            if (g, code) in wanted:
                out[(g, code)] = product
    return out


def _origins(conn: Connection, lot_ids: Sequence[int]) -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    for chunk in _chunks(lot_ids):
        for g, code, loc in conn.execute(
            select(Lot.gtin, Lot.lot, Lot.origin_location).where(Lot.id.in_(chunk))
        ):
            out[(g, code)] = loc
    return out


def _fetchall(conn: Connection, stmt: Any) -> list[tuple[Any, ...]]:
    result = conn.execute(stmt)
    cursor = result.cursor
    rows: list[tuple[Any, ...]] = list(cursor.fetchall()) if cursor is not None else []
    result.close()
    return rows


def _chunks(items: Sequence[Any], size: int = 900) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# -- writers ---------------------------------------------------------------------------


def to_csv(rows: Sequence[dict[str, str]], columns: Sequence[str] = COLUMNS) -> str:
    """A sheet as CSV (RFC 4180, CRLF line ends, a header row)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def events_sheet(rows: Sequence[dict[str, str]], title: str = "FSMA 204") -> xlsx.Sheet:
    return xlsx.Sheet(
        title[:31],
        COLUMNS,
        [[row[c] for c in COLUMNS] for row in rows],
        [KINDS.get(c, "text") for c in COLUMNS],
    )


def to_xlsx(rows: Sequence[dict[str, str]], *, title: str = "FSMA 204") -> bytes:
    """The sortable spreadsheet as an XLSX workbook: one sheet, a frozen header with
    filters; quantities and ledger entries as numbers, dates and times as dates."""
    return xlsx.write_workbook([events_sheet(rows, title)])


def to_json(result: TraceResult, rows: Sequence[dict[str, str]], **extra: Any) -> dict[str, Any]:
    """The JSON export: the trace's answer and its critical tracking events."""
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        **extra,
        "trace": result.as_dict(),
        "events": list(rows),
    }


ExportFormat = Literal["csv", "xlsx", "json"]
EXPORT_FORMATS: tuple[str, ...] = ("csv", "xlsx", "json")


def render(db: Engine | Connection, result: TraceResult, fmt: ExportFormat) -> bytes:
    """``result`` exported as the FSMA 204 spreadsheet (``csv``, ``xlsx``) or as JSON (the
    trace and the rows). A recall's export is ``ledger.trace.fsma_recall.render_recall``."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"format must be csv, xlsx or json, not {fmt!r}")
    rows = fsma_rows(db, result)
    if fmt == "csv":
        return to_csv(rows).encode()
    if fmt == "xlsx":
        return to_xlsx(rows)
    return json.dumps(to_json(result, rows), ensure_ascii=False).encode()


def export_trace(
    db: Engine | Connection,
    starts: Sequence[TraceStart] | ProductRange,
    fmt: ExportFormat,
    direction: Direction = "forward",
    max_depth: int | None = None,
    *,
    viewer: str | None = None,
) -> bytes:
    """Trace ``starts`` and export the answer in one read transaction; with ``viewer``,
    what it may see (``ledger.lineage.graph.trace``)."""
    if isinstance(db, Engine):
        with read_transaction(db) as conn:
            return export_trace(conn, starts, fmt, direction, max_depth, viewer=viewer)
    return render(db, trace(db, starts, direction, max_depth, viewer=viewer), fmt)
