"""Lot labels: one lot as PNG, PDF or ZPL, and PDF sheets of many lots.

Each label's QR code holds the lot's GS1 Digital Link URI on this service's resolver
(``LOTLEDGER_RESOLVER_BASE``, else the request's base URL), with the expiry as AI (17)
and the product's net weight as AI (310n); 4x6 and 4x3 labels (and A4 sheet labels)
also carry a GS1-128 barcode of the same element strings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from api import labelling
from api.deps import AnyKey, LedgerDep
from api.errors import ApiError, invalid
from api.routers import AUTH, problems
from api.routers.resolver import resolver_base, viewer
from labels import LabelData, render_pdf, render_png, render_zpl
from labels.digital_link import parse_scan
from labels.errors import LabelDataError, LabelFontError, ScanError
from labels.png import DPIS
from ledger import Ledger, NotFound
from ledger.masterdata.keys import KeyInfo
from verifier.gs1 import IdentifierError

router = APIRouter(tags=["labels"])

MAX_SHEET_LOTS = 1000
Gtin = Annotated[str, Path(max_length=14, description="GTIN-8, -12, -13 or -14")]
LotCode = Annotated[str, Path(min_length=1, max_length=20, description="GS1 AI 10 lot")]
Dpi = Annotated[int, Query(description="printer resolution (dots per inch): 203 or 300")]
Size = Annotated[Literal["4x6", "4x3", "4x2"], Query(description="label size in inches")]
Stock = Annotated[
    Literal["4x6", "a4", "letter"],
    Query(description="4x6: one label a page; a4/letter: a sheet of labels"),
]
PrinterFont = Annotated[
    str | None,
    Query(
        max_length=40,
        pattern=r"^[A-Z]:[A-Za-z0-9_.-]{1,32}$",
        description="ZPL: a TrueType font on the printer for non-Latin text, e.g. E:SIMSUN.TTF",
    ),
]
ERRORS = problems(400, *AUTH, 404, 422)
_T = TypeVar("_T")


def _bad_identifier(exc: Exception) -> ApiError:
    return ApiError(400, "invalid-identifier", str(exc))


def _label(ledger: Ledger, base: str, gtin: str, lot: str, *, viewer: str | None) -> LabelData:
    """``labelling.lot_label``, its errors as problems: a malformed GTIN or lot is a 400,
    fields no label can encode a 422 (an unknown lot stays ``NotFound``: a 404)."""
    try:
        return labelling.lot_label(ledger, base, gtin, lot, viewer=viewer)
    except IdentifierError as exc:
        raise _bad_identifier(exc) from None
    except LabelDataError as exc:
        raise ApiError(422, "label-error", str(exc)) from None


def _rendered(render: Callable[[], _T]) -> _T:
    """Run a renderer; what it cannot draw (a QR code too large for the stock, text with
    no glyphs in the printer's font) is a 422 that says why, never a 500."""
    try:
        return render()
    except (LabelDataError, LabelFontError) as exc:
        raise ApiError(422, "label-error", str(exc)) from None


def _file(data: bytes, media_type: str, name: str) -> Response:
    return Response(
        data,
        media_type=media_type,
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )


def _check_dpi(dpi: int) -> None:
    if dpi not in DPIS:
        message = f"thermal printers print at {' or '.join(map(str, DPIS))} dpi, not {dpi}"
        raise invalid("dpi", message)


def _one(request: Request, ledger: Ledger, key: KeyInfo, gtin: str, lot: str) -> LabelData:
    return _label(ledger, resolver_base(request), gtin, lot, viewer=viewer(key))


_Responses = dict[int | str, dict[str, Any]]
_PNG: _Responses = {200: {"content": {"image/png": {}}, "description": "The label"}, **ERRORS}
_PDF: _Responses = {200: {"content": {"application/pdf": {}}, "description": "The label"}, **ERRORS}
_ZPL: _Responses = {
    200: {"content": {"text/plain": {}}, "description": "ZPL II for a thermal printer"}
}


@router.get("/v1/lots/{gtin}/{lot:path}/label.png", response_class=Response, responses=_PNG)
def label_png(
    request: Request,
    gtin: Gtin,
    lot: LotCode,
    ledger: LedgerDep,
    key: AnyKey,
    dpi: Dpi = 203,
    size: Size = "4x6",
) -> Response:
    """The lot's label as a PNG at `dpi` for a `size` label. Roles: any signed-in key
    (organisations see labels of lots they may see; regulators and admins, all)."""
    _check_dpi(dpi)
    label = _one(request, ledger, key, gtin, lot)
    png = _rendered(lambda: render_png(label, dpi=dpi, size=size))
    return _file(png, "image/png", labelling.label_file_name(label, "png"))


@router.get("/v1/lots/{gtin}/{lot:path}/label.pdf", response_class=Response, responses=_PDF)
def label_pdf(
    request: Request,
    gtin: Gtin,
    lot: LotCode,
    ledger: LedgerDep,
    key: AnyKey,
    stock: Stock = "4x6",
) -> Response:
    """The lot's label as PDF on `stock` (a 4x6 label, or an A4/Letter sheet).
    Roles: any signed-in key."""
    label = _one(request, ledger, key, gtin, lot)
    pdf = _rendered(lambda: render_pdf([label], stock=stock))
    return _file(pdf, "application/pdf", labelling.label_file_name(label, "pdf"))


@router.get(
    "/v1/lots/{gtin}/{lot:path}/label.zpl",
    response_class=Response,
    responses={**_ZPL, **ERRORS},
)
def label_zpl(
    request: Request,
    gtin: Gtin,
    lot: LotCode,
    ledger: LedgerDep,
    key: AnyKey,
    dpi: Dpi = 203,
    size: Size = "4x6",
    font: PrinterFont = None,
) -> Response:
    """The lot's label as ZPL II for a thermal printer. Text outside Latin-1 (Chinese
    product names) needs `font`, a TrueType font stored on the printer. Roles: any
    signed-in key."""
    _check_dpi(dpi)
    label = _one(request, ledger, key, gtin, lot)
    try:
        zpl = _rendered(lambda: render_zpl(label, dpi=dpi, size=size, unicode_font=font))
    except ApiError as exc:
        if font is None and "outside Zebra font 0" in exc.detail:
            raise invalid("font", f"{exc.detail}, e.g. ?font=E:SIMSUN.TTF") from None
        raise
    return _file(zpl.encode(), "text/plain; charset=utf-8", labelling.label_file_name(label, "zpl"))


class LotName(BaseModel):
    model_config = ConfigDict(extra="forbid")
    gtin: str = Field(max_length=14)
    lot: str = Field(min_length=1, max_length=20)


class SheetRequest(BaseModel):
    """Lots by ``{gtin, lot}``, ``"GTIN/LOT"`` or a scanned Digital Link URI / element string."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"lots": [{"gtin": "09506000134352", "lot": "L2311A"}], "stock": "a4"}]
        },
    )
    lots: list[LotName | Annotated[str, Field(max_length=2000)]] = Field(
        min_length=1, max_length=MAX_SHEET_LOTS
    )
    stock: Literal["4x6", "a4", "letter"] = "a4"


def _lot_name(item: LotName | str) -> tuple[str, str]:
    if isinstance(item, LotName):
        return item.gtin, item.lot
    if item.lower().startswith(("http://", "https://", "(", "]")):
        try:
            scanned = parse_scan(item)
        except ScanError as exc:
            raise _bad_identifier(exc) from None
        return scanned.gtin, scanned.lot
    gtin, sep, lot = item.partition("/")
    if not sep:
        raise ApiError(400, "invalid-identifier", f"{item!r}: expected GTIN/LOT or a lot URI")
    return gtin, lot


@router.post(
    "/v1/labels/sheet",
    response_class=Response,
    responses={**_PDF, 413: {"description": "Over the body limit"}},
)
def label_sheet(request: Request, body: SheetRequest, ledger: LedgerDep, key: AnyKey) -> Response:
    """A PDF of the labels of up to 1000 lots, in the order given, on `stock` (4x6: one
    label a page; a4/letter: sheets). A lot that is unknown (or not visible) is a 404 naming
    it; nothing is printed then. Roles: any signed-in key."""
    base = resolver_base(request)
    labels: list[LabelData] = []
    for index, item in enumerate(body.lots):
        gtin, lot = _lot_name(item)
        try:
            labels.append(_label(ledger, base, gtin, lot, viewer=viewer(key)))
        except NotFound as exc:
            raise ApiError(404, "not-found", f"lots[{index}]: {exc}", index=index) from None
        except ApiError as exc:
            exc.detail = f"lots[{index}]: {exc.detail}"
            exc.extra["index"] = index
            raise
    pdf = _rendered(lambda: render_pdf(labels, stock=body.stock))
    return _file(pdf, "application/pdf", f"labels-{len(labels)}.pdf")
