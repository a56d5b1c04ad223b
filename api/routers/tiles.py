"""The C2SP tlog-tiles read API: ``/checkpoint``, ``/tile/<L>/<N>[.p/<W>]`` and
``/tile/entries/<N>[.p/<W>]`` (``verifier.tiles`` defines the paths and the framing).

Hash tiles and the checkpoint are commitments, public like ``/v1/log/checkpoint``. Entry
bundles are the log's contents: the same rule as ``/v1/log/export`` (admin and regulator
keys). Caching as the spec asks: full tiles and bundles never change (a year,
``immutable``); a partial tile's name fixes its content too, but it is superseded by a
wider one at the next append, so caches keep it a minute; the checkpoint moves with
every append (``no-cache``: revalidate).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from api.deps import LedgerDep, LogReaderKey
from api.errors import ApiError
from api.routers import problems
from ledger.log.witnessing import cosigned_checkpoint
from ledger.tiles import TileStore
from verifier.errors import FormatError
from verifier.tiles import MAX_LEVEL, TILE_WIDTH, Tile, parse_index

router = APIRouter(tags=["tiles"])
OCTETS = "application/octet-stream"
FULL = "public, max-age=31536000, immutable"
PARTIAL = "public, max-age=60"
CHECKPOINT = "no-cache"
_BINARY = {"content": {OCTETS: {"schema": {"type": "string", "format": "binary"}}}}

TilePath = Annotated[
    str,
    Path(
        description="`<N>` as zero-padded 3-digit groups, all but the last prefixed with `x` "
        "(`x001/x234/067`), then `.p/<W>` for a partial tile of width W (1-255)",
        max_length=200,
    ),
]


def store_of(request: Request) -> TileStore:
    store: TileStore = request.app.state.tiles
    return store


def _tile(level: int | None, text: str) -> Tile:
    """The tile a path names; 404 for a path that names no tile (as a static server)."""
    index_text, dot_p, width_text = text.partition(".p/")
    try:
        index = parse_index(index_text)
    except FormatError as exc:
        raise ApiError(404, "not-found", str(exc)) from None
    width = TILE_WIDTH
    if dot_p:
        if not (width_text.isdigit() and str(int(width_text)) == width_text):
            raise ApiError(404, "not-found", f"{width_text!r} is not a partial tile width")
        width = int(width_text)
        if not 1 <= width < TILE_WIDTH:
            raise ApiError(
                404, "not-found", f"a partial tile is 1 to {TILE_WIDTH - 1} wide, not {width}"
            )
    return Tile(level, index, width)


def _answer(request: Request, tile: Tile) -> Response:
    data = store_of(request).read(tile)
    return Response(
        data, media_type=OCTETS, headers={"Cache-Control": FULL if tile.full else PARTIAL}
    )


@router.get(
    "/checkpoint",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def checkpoint(ledger: LedgerDep) -> Response:
    """The latest checkpoint (C2SP tlog-checkpoint, with any witness cosignatures)."""
    return Response(
        cosigned_checkpoint(ledger).encode("utf-8"),
        media_type="text/plain; charset=utf-8",
        headers={"Cache-Control": CHECKPOINT},
    )


@router.get(
    "/tile/entries/{tile:path}",
    response_class=Response,
    responses={200: _BINARY, **problems(401, 403, 404)},
)
def entries(request: Request, _key: LogReaderKey, tile: TilePath) -> Response:
    """Entry bundle N: entries 256N to 256N+255 (or the first W), each a big-endian uint16
    length and the entry's exact leaf bytes. The log's contents: admin and regulator keys."""
    return _answer(request, _tile(None, tile))


@router.get(
    "/tile/{level}/{tile:path}", response_class=Response, responses={200: _BINARY, **problems(404)}
)
def hash_tile(
    request: Request,
    level: Annotated[str, Path(description="0 to 63", max_length=2)],
    tile: TilePath,
) -> Response:
    """Hash tile N of level L: 256 hashes (or the first W) of tree level 8L, each 32 bytes."""
    if not (level.isdigit() and str(int(level)) == level and int(level) <= MAX_LEVEL):
        raise ApiError(404, "not-found", f"{level!r} is not a tile level (0 to {MAX_LEVEL})")
    return _answer(request, _tile(int(level), tile))
