"""A small, fast XLSX (ECMA-376 SpreadsheetML) writer for the exports' typed sheets.

Each sheet is a header row and rows of strings, with a kind per column: ``text``,
``number`` (a decimal string such as "120.5", written as it is: Excel parses the
digits, nothing goes through a float here), ``date`` ("YYYY-MM-DD") or
``datetime`` ("YYYY-MM-DDTHH:MM:SSZ", UTC). Dates and times become serial numbers
with a date style, so a spreadsheet sorts and filters them as dates; an empty
string leaves the cell empty; a value that does not parse as its kind is kept as
text rather than lost.

Why not XlsxWriter or openpyxl: writing the same typed 50,000-row FSMA sheet
(``python -m load.bench xlsx --rows 50000``), this writer is several times faster
than XlsxWriter in constant-memory mode and openpyxl's write-only mode, with files
of less than half their size (inline strings, one deflated part per sheet); the
figures are in BENCHMARKS.md ("FSMA 204 XLSX writers"). A recall's export is on
the path of a person waiting for it, so the service keeps this writer; openpyxl
reads every file it writes back in the tests.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal
from xml.sax.saxutils import escape

Kind = Literal["text", "number", "date", "datetime"]

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_NUMBER = re.compile(r"-?(0|[1-9][0-9]{0,14})(\.[0-9]{1,6})?")
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_DATETIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z")
_EPOCH = date(1899, 12, 30).toordinal()  # Excel's day 0 (1900 date system, after 1900-03-01)
#: Cell styles (``cellXfs`` in styles.xml): 0 default, 1 date, 2 date-time, 3 bold header.
_STYLE = {"date": 1, "datetime": 2}
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = 'yyyy-mm-dd"T"hh:mm:ss"Z"'
_STYLES = (
    f'{_HEAD}<styleSheet xmlns="{_MAIN_NS}">'
    '<numFmts count="2">'
    f'<numFmt numFmtId="164" formatCode="{DATE_FORMAT}"/>'
    f'<numFmt numFmtId="165" formatCode="{escape(DATETIME_FORMAT, {chr(34): "&quot;"})}"/>'
    "</numFmts>"
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


@dataclass(frozen=True, slots=True)
class Sheet:
    """One worksheet: a bold, frozen header row with filters, then ``rows``, typed by
    ``kinds`` (one per column) or, for a sheet of name/value pairs, ``row_kinds`` (one
    list per row)."""

    name: str
    header: Sequence[str]
    rows: Sequence[Sequence[str]]
    kinds: Sequence[Kind]
    row_kinds: Sequence[Sequence[Kind]] | None = None

    def __post_init__(self) -> None:
        if len(self.kinds) != len(self.header):
            raise ValueError("one kind per column")
        if self.row_kinds is not None and len(self.row_kinds) != len(self.rows):
            raise ValueError("one list of kinds per row")
        if not 0 < len(self.name) <= 31 or any(c in self.name for c in "[]:*?/\\"):
            raise ValueError(f"{self.name!r} is not a worksheet name")


def write_workbook(sheets: Sequence[Sheet]) -> bytes:
    """The workbook's bytes: ``sheets`` in order, the first one active."""
    if not sheets:
        raise ValueError("a workbook needs a sheet")
    parts: dict[str, str] = {
        "[Content_Types].xml": _content_types(len(sheets)),
        "_rels/.rels": _rels([("officeDocument", "xl/workbook.xml")]),
        "xl/workbook.xml": _workbook(sheets),
        "xl/_rels/workbook.xml.rels": _rels(
            [("worksheet", f"worksheets/sheet{i}.xml") for i in range(1, len(sheets) + 1)]
            + [("styles", "styles.xml")]
        ),
        "xl/styles.xml": _STYLES,
    }
    for i, sheet in enumerate(sheets, 1):
        parts[f"xl/worksheets/sheet{i}.xml"] = _worksheet(sheet)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, xml in parts.items():
            z.writestr(name, xml)
    return out.getvalue()


def _worksheet(sheet: Sheet) -> str:
    # Cells repeat (names, products, dates, event kinds): each distinct (column kind,
    # value) is turned into XML once.
    cache: dict[tuple[Kind, str], str] = {}

    def cell(kind: Kind, value: str) -> str:
        xml = cache.get((kind, value))
        if xml is None:
            xml = cache[(kind, value)] = _cell(kind, value)
        return xml

    kinds = list(sheet.kinds)
    header = "".join(
        f'<c s="3" t="inlineStr"><is><t xml:space="preserve">{_xml(h)}</t></is></c>'
        for h in sheet.header
    )
    body = [f'<row r="1">{header}</row>']
    per_row = sheet.row_kinds or [kinds] * len(sheet.rows)
    body.extend(
        f'<row r="{r}">{"".join([cell(k, v) for k, v in zip(ks, values, strict=True)])}</row>'
        for r, (ks, values) in enumerate(zip(per_row, sheet.rows, strict=True), 2)
    )
    last = _column_letter(len(kinds))
    return (
        f'{_HEAD}<worksheet xmlns="{_MAIN_NS}"><sheetViews><sheetView workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        f"</sheetView></sheetViews>{_cols(sheet)}"
        f"<sheetData>{''.join(body)}</sheetData>"
        f'<autoFilter ref="A1:{last}{len(sheet.rows) + 1}"/></worksheet>'
    )


def _cell(kind: Kind, value: str) -> str:
    if not value:
        return "<c/>"
    if kind == "number" and _NUMBER.fullmatch(value):
        return f"<c><v>{value}</v></c>"
    if kind == "date" and (m := _DATE.fullmatch(value)):
        serial = _serial(m)
        if serial is not None:
            return f'<c s="{_STYLE["date"]}"><v>{serial}</v></c>'
    if kind == "datetime" and (m := _DATETIME.fullmatch(value)):
        serial = _serial(m)
        hh, mm, ss = int(m[4]), int(m[5]), int(m[6])
        if serial is not None and hh < 24 and mm < 60 and ss < 60:
            fraction = (hh * 3600 + mm * 60 + ss) / 86400
            return f'<c s="{_STYLE["datetime"]}"><v>{serial + fraction!r}</v></c>'
    return f'<c t="inlineStr"><is><t xml:space="preserve">{_xml(value)}</t></is></c>'


def _serial(m: re.Match[str]) -> int | None:
    try:
        day = date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None
    serial = day.toordinal() - _EPOCH
    return serial if serial >= 61 else None  # before 1900-03-01 Excel's calendar is wrong


def _cols(sheet: Sheet) -> str:
    """Column widths from the header and the first rows (Excel does not fit them itself)."""
    widths = [len(h) for h in sheet.header]
    for row in sheet.rows[:200]:
        for i, value in enumerate(row):
            widths[i] = max(widths[i], len(value))
    return (
        "<cols>"
        + "".join(
            f'<col min="{i}" max="{i}" width="{min(max(w, 8), 60) + 2}" customWidth="1"/>'
            for i, w in enumerate(widths, 1)
        )
        + "</cols>"
    )


def _workbook(sheets: Sequence[Sheet]) -> str:
    names = "".join(
        f'<sheet name="{_xml(s.name)}" sheetId="{i}" r:id="rId{i}"/>'
        for i, s in enumerate(sheets, 1)
    )
    return (
        f'{_HEAD}<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
        f"<sheets>{names}</sheets></workbook>"
    )


def _content_types(count: int) -> str:
    sheets = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{_CT}.worksheet+xml"/>'
        for i in range(1, count + 1)
    )
    return (
        f"{_HEAD}"
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.styles+xml"/>'
        f"{sheets}</Types>"
    )


def _rels(targets: Sequence[tuple[str, str]]) -> str:
    links = "".join(
        f'<Relationship Id="rId{i}" Type="{_REL_NS}/{kind}" Target="{target}"/>'
        for i, (kind, target) in enumerate(targets, 1)
    )
    return f'{_HEAD}<Relationships xmlns="{_PKG_REL_NS}">{links}</Relationships>'


def _xml(value: str) -> str:
    return escape(_CONTROL.sub("", value), {'"': "&quot;"})


def _column_letter(n: int) -> str:
    letters = ""
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters
