"""Exports of a trace: the FDA FSMA 204 electronic sortable spreadsheet, and JSON.

One spreadsheet row per critical tracking event (21 CFR 1.1455(c)(3)(ii)) of the
traced lots, with its key data elements. The events are the log's own, found
through ``lot_events`` for the affected lots, and kept when every node they
touch is part of the trace: a shipment whose two ends were both reached, a
receipt likewise, a transformation for each traced output lot, a harvest or
packing where the lot was registered. Sales and disposals are not critical
tracking events; the trace's quantities report them.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterable, Sequence
from typing import Any, Literal
from xml.sax.saxutils import escape

from sqlalchemy import Connection, Engine, select

from ledger.db import read_transaction
from ledger.schema import Entry, Location, Lot, LotEvent
from ledger.trace import Direction, ProductRange, TraceResult, TraceStart, trace

COLUMNS: tuple[str, ...] = (
    "Traceability Lot Code (TLC)",
    "Product Description",
    "Quantity",
    "Unit of Measure",
    "Critical Tracking Event (CTE)",
    "Event Date",
    "Event Time",
    "Location Description",
    "Ship-From Location",
    "Ship-To Location",
    "Traceability Lot Code Source",
    "Input Traceability Lot Codes",
    "Reference Document Type",
    "Reference Document Number",
    "GTIN",
    "Lot",
    "Ledger Entry",
)

_CTE = {
    "harvest": "Harvesting",
    "pack": "Initial Packing",
    "produce": "Transformation",
    "land": "First Land-Based Receiving",
    "ship": "Shipping",
    "receive": "Receiving",
    "transform": "Transformation",
}
_DOC = {
    "po": "Purchase Order",
    "bol": "Bill of Lading",
    "inv": "Invoice",
    "desadv": "Advance Shipping Notice",
    "recall": "Recall Notice",
    "other": "Other",
}
EXPORT_FORMAT = "lotledger.trace-export"
EXPORT_VERSION = 1


def tlc(gtin: str, lot: str) -> str:
    """The traceability lot code as a GS1 element string: (01) GTIN, (10) lot."""
    return f"(01){gtin}(10){lot}"


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
    names = _location_names(conn, {loc for _, _, loc in nodes} | set(origins.values()))
    rows: list[tuple[tuple[str, int, int], dict[str, str]]] = []
    for seq, e in entries.items():
        for pos, row in enumerate(_event_rows(e, nodes, lots, origins, names)):
            row["Ledger Entry"] = str(seq)
            rows.append(((e["event_time"], seq, pos), row))
    rows.sort(key=lambda r: r[0])
    return [r for _, r in rows]


_EVENTS = ("register", "ship", "receive", "transform")


def _event_rows(
    e: dict[str, Any],
    nodes: set[tuple[str, str, str]],
    lots: dict[tuple[str, str], Any],
    origins: dict[tuple[str, str], str],
    names: dict[str, str],
) -> Iterable[dict[str, str]]:
    etype, loc = e["type"], e["location"]

    def row(gtin: str, lot: str, qty: str, unit: str, cte: str) -> dict[str, str]:
        node = lots[(gtin, lot)]
        doc_type, doc_number = _reference(e)
        return {
            "Traceability Lot Code (TLC)": tlc(gtin, lot),
            "Product Description": node.product,
            "Quantity": qty,
            "Unit of Measure": unit,
            "Critical Tracking Event (CTE)": cte,
            "Event Date": e["event_time"][:10],
            "Event Time": e["event_time"],
            "Location Description": names.get(loc, loc),
            "Ship-From Location": "",
            "Ship-To Location": "",
            "Traceability Lot Code Source": names.get(origins.get((gtin, lot), ""), ""),
            "Input Traceability Lot Codes": "",
            "Reference Document Type": doc_type,
            "Reference Document Number": doc_number,
            "GTIN": gtin,
            "Lot": lot,
        }

    if etype == "transform":
        inputs = "; ".join(tlc(i["lot"]["gtin"], i["lot"]["lot"]) for i in e["inputs"])
        for out in e["outputs"]:
            g, code = out["lot"]["gtin"], out["lot"]["lot"]
            if (g, code, loc) in nodes:
                r = row(g, code, out["quantity"], out["unit"], _CTE["transform"])
                r["Input Traceability Lot Codes"] = inputs
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


def _reference(e: dict[str, Any]) -> tuple[str, str]:
    ref = e.get("reference")
    if ref:
        return _DOC[ref["type"]], ref["number"]
    if e.get("shipment_id"):
        return _DOC["desadv"], e["shipment_id"]
    return "Database Record", e["event_id"]


def _location_names(conn: Connection, ids: set[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    for chunk in _chunks(sorted(ids)):
        for loc, name, gln, address in conn.execute(
            select(Location.id, Location.name, Location.gln, Location.address).where(
                Location.id.in_(chunk)
            )
        ):
            parts = [name, address, f"GLN {gln}" if gln else None, f"({loc})"]
            names[loc] = ", ".join(p for p in parts if p)
    return names


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


def to_csv(rows: Sequence[dict[str, str]]) -> str:
    """The sortable spreadsheet as CSV (RFC 4180, CRLF line ends, a header row)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def to_xlsx(rows: Sequence[dict[str, str]], *, title: str = "FSMA 204") -> bytes:
    """The sortable spreadsheet as an XLSX workbook (ECMA-376): one sheet, a header row,
    a frozen header and filters. Written directly as SpreadsheetML with inline strings:
    a general-purpose writer takes seconds for the tens of thousands of rows of a recall."""
    last = _column_letter(len(COLUMNS))
    # Cells repeat (names, products, dates, event kinds): each distinct value is escaped once.
    cells: dict[str, str] = {}

    def cell(value: str) -> str:
        xml = cells.get(value)
        if xml is None:
            xml = cells[value] = (
                f'<c t="inlineStr"><is><t xml:space="preserve">{_xml(value)}</t></is></c>'
            )
        return xml

    body = [
        f'<row r="{r}">{"".join([cell(v) for v in values])}</row>'
        for r, values in enumerate([list(COLUMNS), *([row[c] for c in COLUMNS] for row in rows)], 1)
    ]
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<worksheet xmlns="{_MAIN_NS}"><sheetViews><sheetView workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        "</sheetView></sheetViews>"
        f"<sheetData>{''.join(body)}</sheetData>"
        f'<autoFilter ref="A1:{last}{len(rows) + 1}"/></worksheet>'
    )
    workbook = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}"><sheets>'
        f'<sheet name="{_xml(title[:31])}" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
        ),
        "_rels/.rels": _rels("officeDocument", "xl/workbook.xml"),
        "xl/workbook.xml": workbook,
        "xl/_rels/workbook.xml.rels": _rels("worksheet", "worksheets/sheet1.xml"),
        "xl/worksheets/sheet1.xml": sheet,
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, xml in parts.items():
            z.writestr(name, xml)
    return out.getvalue()


_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _rels(kind: str, target: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{_REL_NS}/{kind}" Target="{target}"/></Relationships>'
    )


def _xml(value: str) -> str:
    return escape(_CONTROL.sub("", value), {'"': "&quot;"})


def _column_letter(n: int) -> str:
    letters = ""
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


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


def render(db: Engine | Connection, result: TraceResult, fmt: ExportFormat, **extra: Any) -> bytes:
    """``result`` exported as the FSMA 204 spreadsheet (``csv``, ``xlsx``) or as JSON
    (the trace and the rows, with ``extra`` keys such as a recall id)."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"format must be csv, xlsx or json, not {fmt!r}")
    rows = fsma_rows(db, result)
    if fmt == "csv":
        return to_csv(rows).encode()
    if fmt == "xlsx":
        return to_xlsx(rows)
    return json.dumps(to_json(result, rows, **extra), ensure_ascii=False).encode()


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
    what it may see (``ledger.trace.trace``)."""
    if isinstance(db, Engine):
        with read_transaction(db) as conn:
            return export_trace(conn, starts, fmt, direction, max_depth, viewer=viewer)
    return render(db, trace(db, starts, direction, max_depth, viewer=viewer), fmt)
