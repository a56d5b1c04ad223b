"""A recall's export: the FSMA 204 spreadsheet of its trace, plus what a recall
coordinator and a regulator ask next: a summary (reason, class, dates, progress)
and the dispositions (for each location and lot: what was at risk, recovered,
still on hand, sold or used, disposed, and whether the location confirmed removal).

* XLSX: three sheets, ``FSMA 204``, ``Recall summary``, ``Dispositions``.
* CSV: one sheet per file, chosen with ``sheet`` (``events``, the default,
  ``summary`` or ``dispositions``).
* JSON: the trace export's fields plus ``recall`` (the recall record as the API
  gives it), ``summary`` (field to value) and ``dispositions`` (the sheet's rows).

Times are in the exports' one form (``ledger.trace.fsma.export_time``); quantities are
decimal strings in each lot's unit, typed as numbers in the XLSX.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Connection, Engine

from ledger import xlsx
from ledger.lineage.graph import TraceResult
from ledger.quantity import format_micro
from ledger.storage.db import read_transaction
from ledger.trace.fsma import (
    ExportFormat,
    events_sheet,
    export_time,
    export_time_or_none,
    fsma_rows,
    location_descriptions,
    organisation_names,
    tlc,
    to_csv,
    to_json,
)

if TYPE_CHECKING:
    from ledger.trace.recall_record import Recall

RecallSheet = Literal["events", "summary", "dispositions"]
RECALL_SHEETS: tuple[str, ...] = ("events", "summary", "dispositions")
SUMMARY_COLUMNS: tuple[str, ...] = ("Field", "Value")
DISPOSITION_COLUMNS: tuple[str, ...] = (
    "Location Description",
    "Organisation",
    "Traceability Lot Code (TLC)",
    "Product Description",
    "Unit of Measure",
    "Quantity at Risk",
    "Quantity Recovered",
    "Quantity Still On Hand",
    "Quantity Sold or Used",
    "Quantity Disposed",
    "Removal Confirmed",
    "Confirmed At (UTC)",
    "Confirmed By",
    "GTIN",
    "Lot",
    "Location",
)
_DISPOSITION_KINDS: dict[str, xlsx.Kind] = {
    "Quantity at Risk": "number",
    "Quantity Recovered": "number",
    "Quantity Still On Hand": "number",
    "Quantity Sold or Used": "number",
    "Quantity Disposed": "number",
    "Confirmed At (UTC)": "datetime",
}
_CLASS = {
    "I": "Class I: reasonable probability of serious adverse health consequences or death",
    "II": "Class II: temporary or medically reversible adverse health consequences",
    "III": "Class III: not likely to cause adverse health consequences",
}


@dataclass(frozen=True, slots=True)
class RecallReport:
    """The summary as (field, value, kind) and the dispositions as rows."""

    recall: dict[str, Any]
    summary: list[tuple[str, str, xlsx.Kind]]
    dispositions: list[dict[str, str]]

    def summary_rows(self) -> list[dict[str, str]]:
        return [{"Field": f, "Value": v} for f, v, _ in self.summary]

    def summary_sheet(self) -> xlsx.Sheet:
        return xlsx.Sheet(
            "Recall summary",
            SUMMARY_COLUMNS,
            [[f, v] for f, v, _ in self.summary],
            ["text", "text"],
            row_kinds=[["text", kind] for _, _, kind in self.summary],
        )

    def dispositions_sheet(self) -> xlsx.Sheet:
        return xlsx.Sheet(
            "Dispositions",
            DISPOSITION_COLUMNS,
            [[row[c] for c in DISPOSITION_COLUMNS] for row in self.dispositions],
            [_DISPOSITION_KINDS.get(c, "text") for c in DISPOSITION_COLUMNS],
        )

    def json_fields(self) -> dict[str, Any]:
        return {
            "recall": self.recall,
            "summary": {f: v for f, v, _ in self.summary},
            "dispositions": self.dispositions,
        }


def recall_report(
    conn: Connection, recall: Recall, result: TraceResult, *, now: datetime | None = None
) -> RecallReport:
    """The summary and dispositions of ``recall``, whose trace (run again now) is ``result``."""
    locations = {p.location for p in recall.locations}
    names = location_descriptions(conn, locations)
    orgs = organisation_names(
        conn,
        {recall.org_id}
        | {p.org_id for p in recall.locations}
        | {p.confirmed_by for p in recall.locations if p.confirmed_by},
    )
    nodes = {(n.gtin, n.lot, n.location): n for n in result.nodes}
    units = {(n.gtin, n.lot): n.unit for n in result.nodes}
    dispositions: list[dict[str, str]] = []
    at_risk: dict[str, int] = {}
    recovered: dict[str, int] = {}
    for place in recall.locations:
        for item in place.items:
            node = nodes.get((item.gtin, item.lot, item.location))
            unit = units.get((item.gtin, item.lot), "")
            at_risk[unit] = at_risk.get(unit, 0) + item.at_risk
            recovered[unit] = recovered.get(unit, 0) + item.recovered
            confirmed = place.confirmed_at is not None
            dispositions.append(
                {
                    "Location Description": names.get(place.location, place.location),
                    "Organisation": orgs.get(place.org_id, place.org_id),
                    "Traceability Lot Code (TLC)": tlc(item.gtin, item.lot),
                    "Product Description": node.product if node else "",
                    "Unit of Measure": unit,
                    "Quantity at Risk": format_micro(item.at_risk),
                    "Quantity Recovered": format_micro(item.recovered),
                    "Quantity Still On Hand": format_micro(item.on_hand),
                    "Quantity Sold or Used": format_micro(node.sold_or_used) if node else "",
                    "Quantity Disposed": format_micro(node.disposed) if node else "",
                    "Removal Confirmed": "yes" if confirmed else "no (outstanding)",
                    "Confirmed At (UTC)": export_time_or_none(place.confirmed_at) or "",
                    "Confirmed By": orgs.get(place.confirmed_by or "", place.confirmed_by or ""),
                    "GTIN": item.gtin,
                    "Lot": item.lot,
                    "Location": place.location,
                }
            )
    confirmed_count = sum(1 for p in recall.locations if p.confirmed_at is not None)
    summary: list[tuple[str, str, xlsx.Kind]] = [
        ("Recall ID", recall.id, "text"),
        ("Recalling Organisation", f"{orgs.get(recall.org_id, recall.org_id)} ({recall.org_id})",
         "text"),
        ("Reason", recall.reason, "text"),
        ("Classification", _CLASS.get(recall.classification, recall.classification), "text"),
        ("Status", recall.status, "text"),
        ("Direction", recall.direction, "text"),
        ("Maximum Depth", "unbounded" if recall.max_depth is None else str(recall.max_depth),
         "number"),
        ("Recalled Lots", "; ".join(tlc(s.gtin, s.lot) for s in recall.starts), "text"),
        ("Recall Started (UTC)", export_time(recall.created_at), "datetime"),
        ("Recall Closed (UTC)", export_time_or_none(recall.closed_at) or "", "datetime"),
        ("Holds Appended at Log Size", str(recall.created_seq), "number"),
        ("Locations Affected", str(len(recall.locations)), "number"),
        ("Locations Confirmed", str(confirmed_count), "number"),
        (
            "Locations Outstanding",
            "; ".join(p.location for p in recall.locations if p.confirmed_at is None),
            "text",
        ),
    ]  # fmt: skip
    for unit in sorted(at_risk):
        risk, back = at_risk[unit], recovered[unit]
        share = format(Decimal(100) if risk == 0 else Decimal(back * 100) / Decimal(risk), ".1f")
        summary += [
            (f"Quantity at Risk ({unit})", format_micro(risk), "number"),
            (f"Quantity Recovered ({unit})", format_micro(back), "number"),
            (f"Recovered ({unit}, %)", share, "number"),
        ]
    moment = (now or datetime.now(UTC)).isoformat()
    summary.append(("Exported At (UTC)", export_time(moment), "datetime"))
    record = recall.as_dict()
    record["created_at"] = export_time(recall.created_at)
    record["closed_at"] = export_time_or_none(recall.closed_at)
    for place in record["locations"]:
        place["confirmed_at"] = export_time_or_none(place["confirmed_at"])
    return RecallReport(record, summary, dispositions)


def render_recall(
    db: Engine | Connection,
    recall: Recall,
    result: TraceResult,
    fmt: ExportFormat,
    sheet: RecallSheet = "events",
) -> bytes:
    """The recall's export: XLSX (all three sheets), JSON (all fields), or the CSV of one
    ``sheet``."""
    if sheet not in RECALL_SHEETS:
        raise ValueError(f"sheet must be events, summary or dispositions, not {sheet!r}")
    if isinstance(db, Engine):
        with read_transaction(db) as conn:
            return render_recall(conn, recall, result, fmt, sheet)
    report = recall_report(db, recall, result)
    if fmt == "csv":
        if sheet == "summary":
            return to_csv(report.summary_rows(), SUMMARY_COLUMNS).encode()
        if sheet == "dispositions":
            return to_csv(report.dispositions, DISPOSITION_COLUMNS).encode()
        return to_csv(fsma_rows(db, result)).encode()
    rows = fsma_rows(db, result)
    if fmt == "xlsx":
        return xlsx.write_workbook(
            [events_sheet(rows), report.summary_sheet(), report.dispositions_sheet()]
        )
    if fmt == "json":
        doc = to_json(result, rows, **report.json_fields())
        return json.dumps(doc, ensure_ascii=False).encode()
    raise ValueError(f"format must be csv, xlsx or json, not {fmt!r}")
