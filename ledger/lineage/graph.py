"""Trace the lot graph forward (where did it go, what was made of it) or backward.

The graph's nodes are (lot, location) pairs. Its edges are read models the
append keeps current: a shipment joins (lot, from) to (lot, to); a
transformation joins (input lot, location) to (output lot, same location).
One recursive query walks it on SQLite and PostgreSQL alike. Its rows are the
edges it crossed, so ``UNION`` stops at every edge already seen and return
trips (A ships to B, B ships back) terminate; with ``max_depth`` the depth is
carried too and bounds the walk. The same statement then fetches, set-based,
each reached node's quantities (``lot_flows``, ``stock``, shipments in transit),
and each reached lot's and location's description once (a lot has several nodes,
a location many). Python only orders the answer: a breadth-first pass over the
reached edges gives each node its depth and one shortest path from a start.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Connection, Engine, select, text

from ledger.errors import NotFound
from ledger.lineage.visibility import OWN, PARTNER, exchanged, handled_lots, recalled_lots
from ledger.quantity import SCALE, format_micro
from ledger.storage.db import read_transaction
from ledger.storage.schema import Entry, Lot
from ledger.storage.sums import joined, split_sum_sql

Direction = Literal["forward", "backward"]
NodeKey = tuple[int, str]  # (lot id, location id)


@dataclass(frozen=True, slots=True)
class TraceStart:
    """A lot to start from; at ``location`` (a node), or at its origin when None."""

    gtin: str
    lot: str
    location: str | None = None


@dataclass(frozen=True, slots=True)
class ProductRange:
    """Every lot of a product that came into being (harvest, packing, production: the
    registering or transforming event's ``event_time``) in [start, end). Both are RFC 3339
    times with an offset, or dates (midnight UTC)."""

    gtin: str
    start: str
    end: str


@dataclass(frozen=True, slots=True)
class Hop:
    """One step of a path: ``ship`` moves a lot between locations, ``transform`` makes
    ``to_lot`` out of ``from_lot`` at one location. Always written in the goods' direction."""

    kind: Literal["ship", "transform"]
    from_gtin: str
    from_lot: str
    from_location: str
    to_gtin: str
    to_lot: str
    to_location: str

    def as_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "from": f"{self.from_gtin}/{self.from_lot}@{self.from_location}",
            "to": f"{self.to_gtin}/{self.to_lot}@{self.to_location}",
        }


@dataclass(slots=True)
class TraceNode:
    """One affected (lot, location) with what happened to the lot there (micro-units)."""

    lot_id: int
    gtin: str
    lot: str
    product: str
    unit: str
    location: str
    location_name: str
    org_id: str
    held: bool
    depth: int
    produced: int = 0
    received: int = 0
    shipped: int = 0
    used: int = 0
    sold: int = 0
    consumed: int = 0
    disposed: int = 0
    adjusted: int = 0
    on_hand: int = 0
    in_transit: int = 0
    via: NodeKey | None = None  # the previous node on one shortest path from a start
    #: For a viewer's trace, ``own`` or ``partner`` (ledger.lineage.visibility); None: unscoped.
    scope: str | None = None

    @property
    def key(self) -> NodeKey:
        return (self.lot_id, self.location)

    @property
    def sold_or_used(self) -> int:
        return self.sold + self.consumed + self.used

    def as_dict(self, path: list[Hop] | None = None) -> dict[str, Any]:
        return self._dict(None if path is None else [h.as_dict() for h in path])

    def _dict(self, path: list[dict[str, str]] | None) -> dict[str, Any]:
        q = _quantity
        out: dict[str, Any] = {
            "gtin": self.gtin,
            "lot": self.lot,
            "product": self.product,
            "unit": self.unit,
            "location": self.location,
            "location_name": self.location_name,
            "org_id": self.org_id,
            "held": self.held,
            "depth": self.depth,
            "quantities": {
                "produced": q(self.produced),
                "received": q(self.received),
                "shipped": q(self.shipped),
                "on_hand": q(self.on_hand),
                "in_transit": q(self.in_transit),
                "sold": q(self.sold),
                "consumed": q(self.consumed),
                "used": q(self.used),
                "sold_or_used": q(self.sold + self.consumed + self.used),
                "disposed": q(self.disposed),
                "adjusted": q(self.adjusted),
            },
        }
        if self.scope is not None:
            out["visibility"] = self.scope
            if self.scope == PARTNER:  # what passed between the two, never their stock
                quantities = out["quantities"]
                for name in quantities:
                    if name not in _PARTNER_SEES:
                        quantities[name] = None
        if path is not None:
            out["path"] = path
        return out


#: A partner node's quantities a viewer sees: what was made there, and what it shipped to
#: and received from the viewer (``ledger.lineage.visibility.exchanged``); the rest is null.
_PARTNER_SEES = frozenset(("produced", "received", "shipped"))


@dataclass(slots=True)
class TraceResult:
    direction: Direction
    max_depth: int | None
    starts: list[TraceNode]
    nodes: list[TraceNode]  # breadth-first: by depth, then lot id, then location
    by_key: dict[NodeKey, TraceNode] = field(default_factory=dict, repr=False)

    def path(self, node: TraceNode) -> list[Hop]:
        """One shortest path from a start to ``node``, in the goods' direction."""
        hops: list[Hop] = []
        cur = node
        while cur.via is not None:
            prev = self.by_key[cur.via]
            a, b = (prev, cur) if self.direction == "forward" else (cur, prev)
            kind: Literal["ship", "transform"] = "ship" if a.lot_id == b.lot_id else "transform"
            hops.append(Hop(kind, a.gtin, a.lot, a.location, b.gtin, b.lot, b.location))
            cur = prev
        if self.direction == "forward":
            hops.reverse()
        return hops

    @property
    def lots(self) -> list[tuple[str, str]]:
        """Affected lots (gtin, lot), each once, in the nodes' order."""
        return list(dict.fromkeys((n.gtin, n.lot) for n in self.nodes))

    @property
    def lot_ids(self) -> list[int]:
        return list(dict.fromkeys(n.lot_id for n in self.nodes))

    @property
    def locations(self) -> list[str]:
        return list(dict.fromkeys(n.location for n in self.nodes))

    def node(self, gtin: str, lot: str, location: str) -> TraceNode:
        for n in self.nodes:
            if (n.gtin, n.lot, n.location) == (gtin, lot, location):
                return n
        raise KeyError((gtin, lot, location))

    def as_dict(self) -> dict[str, Any]:
        return {
            "direction": self.direction,
            "max_depth": self.max_depth,
            "starts": [{"gtin": s.gtin, "lot": s.lot, "location": s.location} for s in self.starts],
            "lots": [{"gtin": g, "lot": lot} for g, lot in self.lots],
            "locations": self.locations,
            "nodes": [n._dict(p) for n, p in zip(self.nodes, self._paths(), strict=True)],
        }

    def _paths(self) -> list[list[dict[str, str]]]:
        """Every node's path as hop dicts, each built from its parent's (nodes come by
        depth, so a parent's path is known before its children's)."""
        forward = self.direction == "forward"
        label: dict[NodeKey, str] = {}
        paths: dict[NodeKey, list[dict[str, str]]] = {}
        out = []
        for n in self.nodes:
            key = (n.lot_id, n.location)
            label[key] = f"{n.gtin}/{n.lot}@{n.location}"
            if n.via is None:
                path: list[dict[str, str]] = []
            else:
                prev = self.by_key[n.via]
                kind = "ship" if prev.lot_id == n.lot_id else "transform"
                if forward:
                    path = [*paths[n.via], {"kind": kind, "from": label[n.via], "to": label[key]}]
                else:
                    path = [{"kind": kind, "from": label[key], "to": label[n.via]}, *paths[n.via]]
            paths[key] = path
            out.append(path)
        return out


def _quantity(micro: int) -> str:
    return str(micro // SCALE) if micro >= 0 and micro % SCALE == 0 else format_micro(micro)


# One step of the walk, as a single recursive reference (PostgreSQL allows no more):
# a two-row constant picks the edge kind, so each arm still uses its own index.
_STEP = {
    "forward": """
    FROM reach r CROSS JOIN (SELECT 0 AS k UNION ALL SELECT 1 AS k) e
    LEFT JOIN shipments s
        ON e.k = 0 AND s.lot_id = r.lot_id AND s.from_location = r.location_id
    LEFT JOIN transformations t
        ON e.k = 1 AND t.input_lot_id = r.lot_id AND t.location_id = r.location_id
    WHERE (s.seq IS NOT NULL OR t.seq IS NOT NULL) {bound}
    """,
    "backward": """
    FROM reach r CROSS JOIN (SELECT 0 AS k UNION ALL SELECT 1 AS k) e
    LEFT JOIN shipments s
        ON e.k = 0 AND s.lot_id = r.lot_id AND s.to_location = r.location_id
    LEFT JOIN transformations t
        ON e.k = 1 AND t.output_lot_id = r.lot_id AND t.location_id = r.location_id
    WHERE (s.seq IS NOT NULL OR t.seq IS NOT NULL) {bound}
    """,
}
_NEXT = {
    "forward": "COALESCE(s.lot_id, t.output_lot_id), COALESCE(s.to_location, t.location_id)",
    "backward": "COALESCE(s.lot_id, t.input_lot_id), COALESCE(s.from_location, t.location_id)",
}


# The first branch of the answer's UNION ALL gives every column its type (PostgreSQL
# resolves the branches in order; NULL alone would become text): eleven quantities (the
# in-transit sum in two parts, ``ledger.storage.sums``),
# a lot's gtin, code, product, unit and holds, a location's name and organisation.
_TYPED_NULLS = ", ".join(
    [
        *(["CAST(NULL AS BIGINT)"] * 11),
        *(["CAST(NULL AS VARCHAR(200))"] * 4),
        "CAST(NULL AS INTEGER)",
        "CAST(NULL AS VARCHAR(200))",
        "CAST(NULL AS VARCHAR(64))",
    ]
)


# A node's in transit (shipped to it, not yet received), summed in two parts that cannot
# overflow (``ledger.storage.sums``), each a correlated look-up by the shipments' lot index.
_TRANSIT = (
    "(SELECT {} FROM shipments x WHERE x.lot_id = n.lot_id AND x.to_location = n.location_id)"
)
_TRANSIT_HIGH, _TRANSIT_LOW = (
    _TRANSIT.format(part) for part in split_sum_sql("x.quantity - x.received")
)


def _walk_sql(direction: Direction, seeds: str, bounded: bool) -> str:
    depth_col, depth_seed, depth_next = ("", "", "")
    bound = ""
    if bounded:
        depth_col, depth_seed, depth_next = (", depth", ", 0", ", r.depth + 1")
        bound = "AND r.depth < :max_depth"
    return f"""
    WITH RECURSIVE reach(src_lot, src_loc, lot_id, location_id{depth_col}) AS (
        SELECT CAST(NULL AS BIGINT), CAST(NULL AS VARCHAR(64)), seed_lot, seed_loc{depth_seed}
        FROM ({seeds}) seeds
        UNION
        SELECT r.lot_id, r.location_id, {_NEXT[direction]}{depth_next}
        {_STEP[direction].format(bound=bound)}
    ),
    nodes AS (SELECT DISTINCT lot_id, location_id FROM reach)
    SELECT 'e', src_lot, src_loc, lot_id, location_id, {_TYPED_NULLS}
    FROM reach
    UNION ALL
    SELECT 'n', NULL, NULL, n.lot_id, n.location_id,
           COALESCE(f.produced, 0), COALESCE(f.received, 0), COALESCE(f.shipped, 0),
           COALESCE(f.used, 0), COALESCE(f.sold, 0), COALESCE(f.consumed, 0),
           COALESCE(f.disposed, 0), COALESCE(f.adjusted, 0), COALESCE(st.on_hand, 0),
           {_TRANSIT_HIGH}, {_TRANSIT_LOW},
           NULL, NULL, NULL, NULL, NULL, NULL, NULL
    FROM nodes n
    LEFT JOIN lot_flows f ON f.lot_id = n.lot_id AND f.location_id = n.location_id
    LEFT JOIN stock st ON st.lot_id = n.lot_id AND st.location_id = n.location_id
    UNION ALL
    SELECT 'l', NULL, NULL, l.id, NULL,
           NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           l.gtin, l.lot, l.product, l.unit, l.open_holds, NULL, NULL
    FROM (SELECT DISTINCT lot_id FROM nodes) k JOIN lots l ON l.id = k.lot_id
    UNION ALL
    SELECT 'c', NULL, NULL, NULL, loc.id,
           NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           NULL, NULL, NULL, NULL, NULL, loc.name, loc.org_id
    FROM (SELECT DISTINCT location_id FROM nodes) k JOIN locations loc ON loc.id = k.location_id
    """  # noqa: S608 - every fragment is a constant of this module; values are bound


def trace(
    db: Engine | Connection,
    starts: Sequence[TraceStart] | ProductRange,
    direction: Direction = "forward",
    max_depth: int | None = None,
    *,
    viewer: str | None = None,
) -> TraceResult:
    """Every (lot, location) reachable from ``starts``, with quantities and a path each.

    With ``viewer`` (an organisation; None sees everything) the answer is what it may
    see (``ledger.lineage.visibility``): a start lot it never handled is not found, a product's
    lots it never handled are left out, and the nodes are its own and its partners'
    (one shipment away), a partner's without its stock; a path begins at the first node
    the viewer may see. A trace of lots of the viewer's own recalls is whole.

    Raises NotFound for a start lot or location the ledger does not know, and
    ValueError for a bad direction or a negative ``max_depth``.
    """
    if direction not in _STEP:
        raise ValueError(f"direction must be 'forward' or 'backward', not {direction!r}")
    if max_depth is not None and max_depth < 0:
        raise ValueError("max_depth must be at least 0")
    if isinstance(db, Engine):
        with read_transaction(db) as conn:
            return _trace(conn, starts, direction, max_depth, viewer)
    return _trace(db, starts, direction, max_depth, viewer)


def _visible_seeds(
    conn: Connection, seeds: set[NodeKey], viewer: str, listed: bool
) -> tuple[set[NodeKey], bool]:
    """The seeds ``viewer`` may trace from, and whether its view is whole (every start
    lot is in one of its recalls). For ``listed`` lots, one it may not see is not found."""
    lot_ids = {lot_id for lot_id, _ in seeds}
    recalled = recalled_lots(conn, viewer, lot_ids)
    seen = recalled | handled_lots(conn, viewer, lot_ids - recalled)
    if listed:
        for lot_id in sorted(lot_ids - seen):
            gtin, code = conn.execute(select(Lot.gtin, Lot.lot).where(Lot.id == lot_id)).one()
            raise NotFound(f"unknown lot {gtin}/{code}")  # as if it did not exist
    kept = {s for s in seeds if s[0] in seen}
    return kept, bool(kept) and all(s[0] in recalled for s in kept)


def _scope(
    conn: Connection,
    nodes: dict[NodeKey, TraceNode],
    edges: dict[NodeKey, list[NodeKey]],
    viewer: str,
) -> dict[NodeKey, TraceNode]:
    """The viewer's nodes and its partners' (one shipment from one of its own), in order."""
    own = {k for k, n in nodes.items() if n.org_id == viewer}
    partners: set[NodeKey] = set()
    for src, dsts in edges.items():
        for dst in dsts:
            if (src in own) != (dst in own):
                partners.add(dst if src in own else src)
    partners &= nodes.keys()
    if partners:
        traded = exchanged(
            conn,
            {lot_id for lot_id, _ in partners},
            {loc for _, loc in partners},
            {loc for _, loc in own},
        )
    kept: dict[NodeKey, TraceNode] = {}
    for key, n in nodes.items():
        if key in own:
            n.scope = OWN
        elif key in partners:
            n.scope = PARTNER
            n.shipped, n.received = traded.get(key, (0, 0))
        else:
            continue
        if n.via is not None and n.via not in own and n.via not in partners:
            n.via = None  # the path begins where the viewer's sight does
        kept[key] = n
    return kept


def _trace(
    conn: Connection,
    starts: Sequence[TraceStart] | ProductRange,
    direction: Direction,
    max_depth: int | None,
    viewer: str | None = None,
) -> TraceResult:
    seeds = _resolve(conn, starts)
    whole = viewer is None
    if viewer is not None and seeds:
        seeds, whole = _visible_seeds(conn, seeds, viewer, not isinstance(starts, ProductRange))
    empty = TraceResult(direction, max_depth, [], [])
    if not seeds:
        return empty
    params: dict[str, Any] = {}
    parts = []
    for i, (lot_id, loc) in enumerate(sorted(seeds)):
        params[f"l{i}"], params[f"c{i}"] = lot_id, loc
        parts.append(
            f"SELECT CAST(:l{i} AS BIGINT) AS seed_lot, CAST(:c{i} AS VARCHAR(64)) AS seed_loc"
        )
    if max_depth is not None:
        params["max_depth"] = max_depth
    sql = _walk_sql(direction, " UNION ALL ".join(parts), max_depth is not None)
    edges: dict[NodeKey, list[NodeKey]] = {}
    info: dict[NodeKey, Any] = {}
    lots: dict[int, Any] = {}
    places: dict[str, Any] = {}
    # Thousands of rows: read the driver's tuples, skipping the Row layer.
    for row in _fetch(conn, sql, params):
        kind = row[0]
        if kind == "e":
            if row[1] is not None:
                edges.setdefault((row[1], row[2]), []).append((row[3], row[4]))
        elif kind == "n":
            info[(row[3], row[4])] = row
        elif kind == "l":
            lots[row[3]] = row
        else:
            places[row[4]] = row
    order, parent, depth = _breadth_first(sorted(s for s in seeds if s in info), edges, max_depth)
    node = TraceNode
    nodes: dict[NodeKey, TraceNode] = {}
    no_place = (None,) * 23
    for key in order:  # by depth, then lot id, then location
        r, lot, place = info[key], lots[key[0]], places.get(key[1], no_place)
        nodes[key] = node(
            key[0], lot[16], lot[17], lot[18], lot[19], key[1],
            key[1] if place[21] is None else place[21], place[22] or "", (lot[20] or 0) > 0,
            depth[key], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13],
            joined(r[14], r[15]), parent[key],
        )  # fmt: skip
    if not whole:
        assert viewer is not None
        nodes = _scope(conn, nodes, edges, viewer)
    starts_found = [nodes[s] for s in sorted(seeds) if s in nodes]
    return TraceResult(direction, max_depth, starts_found, list(nodes.values()), nodes)


def _breadth_first(
    frontier: list[NodeKey], edges: dict[NodeKey, list[NodeKey]], max_depth: int | None
) -> tuple[list[NodeKey], dict[NodeKey, NodeKey | None], dict[NodeKey, int]]:
    """Breadth-first over the reached edges only: the nodes in order, and each one's
    parent on one shortest path from a start and its depth."""
    parent: dict[NodeKey, NodeKey | None] = {}
    depth: dict[NodeKey, int] = {}
    for s in frontier:
        parent[s], depth[s] = None, 0
    level = 0
    order: list[NodeKey] = []
    while frontier:
        frontier.sort()
        order.extend(frontier)
        if max_depth is not None and level >= max_depth:
            break
        level += 1
        following: list[NodeKey] = []
        for cur in frontier:
            for nxt in sorted(edges.get(cur, ())):  # sorted: the same path on every engine
                if nxt not in depth:
                    parent[nxt], depth[nxt] = cur, level
                    following.append(nxt)
        frontier = following
    return order, parent, depth


def _fetch(conn: Connection, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """All rows as the driver's tuples (ints already ints on SQLite and psycopg)."""
    result = conn.execute(text(sql), params)
    cursor = result.cursor
    rows: list[tuple[Any, ...]] = list(cursor.fetchall()) if cursor is not None else []
    result.close()
    return rows


def _instant(value: str) -> datetime:
    """An RFC 3339 time (any offset) or a date (midnight UTC) as an aware datetime."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is not an RFC 3339 time or a date") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _resolve(conn: Connection, starts: Sequence[TraceStart] | ProductRange) -> set[NodeKey]:
    """The start nodes: each lot at the given location, or at its origin."""
    if isinstance(starts, ProductRange):
        low, high = _instant(starts.start), _instant(starts.end)
        rows = conn.execute(
            select(Lot.id, Lot.origin_location, Entry.leaf_bytes)
            .join(Entry, Entry.seq == Lot.registered_seq)
            .where(Lot.gtin == starts.gtin)
        )
        return {
            (int(r[0]), str(r[1]))
            for r in rows
            if low <= _instant(json.loads(r[2])["event"]["event_time"]) < high
        }
    seeds: set[NodeKey] = set()
    for s in starts:
        row = conn.execute(
            select(Lot.id, Lot.origin_location).where(Lot.lot == s.lot, Lot.gtin == s.gtin)
        ).first()
        if row is None:
            raise NotFound(f"unknown lot {s.gtin}/{s.lot}")
        location = s.location or str(row[1])
        if s.location is not None:
            known = conn.execute(
                text("SELECT 1 FROM locations WHERE id = :id"), {"id": location}
            ).first()
            if known is None:
                raise NotFound(f"unknown location {location!r}")
        seeds.add((int(row[0]), location))
    return seeds
