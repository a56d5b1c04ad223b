"""The FSMA 204 XLSX writers side by side: ``python -m load.bench xlsx [--rows N]``.

Writes the same typed sheet (numbers, dates and UTC date-times as typed cells, a frozen
header, filters) of ``--rows`` FSMA rows shaped like a recall's (repeated locations,
products and event kinds) with ``ledger.xlsx`` (ours), openpyxl's write-only mode and,
when it is installed, XlsxWriter in constant-memory mode. Figures: ``xlsx_rows``,
``ours_s``, ``openpyxl_s``, ``xlsxwriter_s`` (null when not installed), and the file sizes
in KiB. ``ledger/xlsx.py`` says which the service uses and why.
"""

from __future__ import annotations

import argparse
import io
import time
from datetime import date, datetime, timedelta
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter

from ledger.trace.fsma import COLUMNS, KINDS, to_xlsx
from ledger.xlsx import DATE_FORMAT, DATETIME_FORMAT

try:  # not a dependency: measured when installed (pip install xlsxwriter)
    import xlsxwriter  # type: ignore[import-not-found, unused-ignore]
except ImportError:  # pragma: no cover - depends on the machine
    xlsxwriter = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=20_000, help="spreadsheet rows")


def _rows(n: int) -> list[dict[str, str]]:
    start = datetime(2026, 5, 4, 6, 0)
    ctes = ("Shipping", "Receiving", "Transformation", "Initial Packing")
    rows = []
    for i in range(n):
        moment = start + timedelta(minutes=7 * i)
        store = f"Corner Grocer Supermarkets: Corner Grocer store {i % 300}, address not on file"
        rows.append(
            {
                "Traceability Lot Code (TLC)": f"(01)00012345678905(10)FC26W{i % 40:02d}",
                "Product Description": "Garden salad bowl 250 g",
                "Quantity": f"{100 + i % 37}.5" if i % 3 else str(1200 + i % 11),
                "Unit of Measure": "each",
                "Critical Tracking Event (CTE)": ctes[i % 4],
                "Event Date": moment.date().isoformat(),
                "Event Time (UTC)": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "Location Description": store,
                "Ship-From Location": "Corner Grocer Supermarkets: distribution centre",
                "Ship-To Location": store,
                "Traceability Lot Code Source": "FreshCut Salads: FreshCut processing plant",
                "Input Traceability Lot Codes": "",
                "Input Product Descriptions": "",
                "Input Quantities": "",
                "Reference Document Type": "Bill of Lading",
                "Reference Document Number": f"BOL-{i // 10}",
                "GTIN": "00012345678905",
                "Lot": f"FC26W{i % 40:02d}",
                "Ledger Entry": str(1000 + i),
            }
        )
    return rows


def _typed(row: dict[str, str]) -> list[Any]:
    out: list[Any] = []
    for c in COLUMNS:
        kind, v = KINDS.get(c, "text"), row[c]
        if not v:
            out.append(None)
        elif kind == "number":
            out.append(float(v) if "." in v else int(v))
        elif kind == "date":
            out.append(date.fromisoformat(v))
        elif kind == "datetime":
            out.append(datetime.strptime(v, "%Y-%m-%dT%H:%M:%SZ"))
        else:
            out.append(v)
    return out


def _openpyxl(rows: list[dict[str, str]]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("FSMA 204")
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{len(rows) + 1}"
    sheet.append(list(COLUMNS))
    formats = {"date": DATE_FORMAT, "datetime": DATETIME_FORMAT}
    kinds = [KINDS.get(c, "text") for c in COLUMNS]
    for row in rows:
        cells: list[Any] = []
        for kind, value in zip(kinds, _typed(row), strict=True):
            if kind in formats and value is not None:
                cell = WriteOnlyCell(sheet, value)
                cell.number_format = formats[kind]
                cells.append(cell)
            else:
                cells.append(value)
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xlsxwriter(rows: list[dict[str, str]]) -> bytes | None:
    if xlsxwriter is None:
        return None
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"constant_memory": True})
    sheet = book.add_worksheet("FSMA 204")
    styles = {
        "date": book.add_format({"num_format": DATE_FORMAT}),
        "datetime": book.add_format({"num_format": DATETIME_FORMAT}),
    }
    kinds = [KINDS.get(c, "text") for c in COLUMNS]
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, len(rows), len(COLUMNS) - 1)
    sheet.write_row(0, 0, COLUMNS)
    for r, row in enumerate(rows, 1):
        for c, (kind, value) in enumerate(zip(kinds, _typed(row), strict=True)):
            if value is None:
                continue
            if kind in styles:
                sheet.write_datetime(r, c, value, styles[kind])
            elif kind == "number":
                sheet.write_number(r, c, value)
            else:
                sheet.write_string(r, c, value)
    book.close()
    return out.getvalue()


def run(args: argparse.Namespace) -> dict[str, object]:
    rows = _rows(args.rows)
    figures: dict[str, object] = {"xlsx_rows": len(rows)}
    for name, write in (("ours", to_xlsx), ("openpyxl", _openpyxl), ("xlsxwriter", _xlsxwriter)):
        t0 = time.perf_counter()
        data = write(rows)
        seconds = time.perf_counter() - t0
        figures[f"{name}_s"] = None if data is None else round(seconds, 2)
        figures[f"{name}_kib"] = None if data is None else len(data) // 1024
        if not args.quiet:
            print(f"{name}: {figures[f'{name}_s']} s, {figures[f'{name}_kib']} KiB")
    return figures
