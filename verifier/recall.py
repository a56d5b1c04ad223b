"""Recall lookups from a verified export alone: the regulator's offline answer.

``SupplyGraph`` is built from log entries (their canonical JSON), in memory
(proportional to the supply graph, not checked against the server). Its nodes
are (gtin, lot, location): a lot at a place. Edges go where goods went:

- ship: (lot, from) -> (lot, to);
- transform at X: (input lot, X) -> (output lot, X) for every input and output.

A trace starts at the lot's origin (where it was registered or made by a
transform), or at a location given, like the service's ``ledger.lineage.graph``; a
forward trace ("where did it go") follows edges, a backward trace ("where did
it come from") follows them in reverse. Every node reached is a row of the
answer with its quantities, computed from the events at that (lot, location), in the lot's unit:

========== =============================================================
received    sum of ``receive`` quantities
shipped     sum of ``ship`` quantities leaving
sold_or_used ``sell`` + ``consume`` + quantities used as ``transform`` input
disposed    sum of ``dispose`` quantities
produced    ``register`` quantity + ``transform`` output quantities
on_hand     produced + received - shipped - sold_or_used - disposed + adjust
========== =============================================================

Quantities are exact (integer micro-units) and printed as normalized decimal
strings, as the log carries them.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from verifier.audit import Progress, audit_export
from verifier.errors import EntryError, FormatError, LotNotFoundError
from verifier.note import VerifierKey

__all__ = [
    "QUANTITY_FIELDS",
    "RecallAnswer",
    "RecallRow",
    "SupplyGraph",
    "format_micro",
    "parse_micro",
    "recall_from_export",
]

Lot = tuple[str, str]
Node = tuple[str, str, str]  # gtin, lot, location
QUANTITY_FIELDS = ("received", "on_hand", "sold_or_used", "disposed", "shipped", "produced")
_SCALE = 10**6
_DECIMAL = re.compile(r"(-?)(0|[1-9][0-9]{0,12})(?:\.([0-9]{1,6}))?")


def parse_micro(text: object) -> int:
    """Micro-units of a normalized decimal string ("120.5" -> 120500000)."""
    if not isinstance(text, str):
        raise ValueError(f"quantity {text!r} is not a decimal string")
    match = _DECIMAL.fullmatch(text)
    if match is None:
        raise ValueError(f"quantity {text!r} is not a decimal")
    sign, whole, frac = match.groups()
    value = int(whole) * _SCALE + int((frac or "").ljust(6, "0"))
    return -value if sign else value


def format_micro(micro: int) -> str:
    sign = "-" if micro < 0 else ""
    whole, frac = divmod(abs(micro), _SCALE)
    return f"{sign}{whole}" if frac == 0 else f"{sign}{whole}.{frac:06d}".rstrip("0")


@dataclass(slots=True)
class _Quantities:
    received: int = 0
    on_hand: int = 0
    sold_or_used: int = 0
    disposed: int = 0
    shipped: int = 0
    produced: int = 0


@dataclass(frozen=True, slots=True)
class RecallRow:
    gtin: str
    lot: str
    location: str
    product: str
    unit: str
    quantities: Mapping[str, str]

    def as_dict(self) -> dict[str, str]:
        return {
            "gtin": self.gtin,
            "lot": self.lot,
            "location": self.location,
            "product": self.product,
            "unit": self.unit,
            **self.quantities,
        }


@dataclass(frozen=True, slots=True)
class RecallAnswer:
    start: tuple[Lot, ...]
    direction: str
    lots: tuple[Lot, ...]
    locations: tuple[str, ...]
    rows: tuple[RecallRow, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": [{"gtin": g, "lot": lot} for g, lot in self.start],
            "direction": self.direction,
            "lots": [{"gtin": g, "lot": lot} for g, lot in self.lots],
            "locations": list(self.locations),
            "rows": [row.as_dict() for row in self.rows],
        }

    def render(self) -> str:
        head = ", ".join(f"{g}/{lot}" for g, lot in self.start)
        lines = [
            f"Recall {self.direction} from {head}: {len(self.lots)} lots at "
            f"{len(self.locations)} locations (from a verified export)",
            "",
            f"{'lot':<32} {'location':<20} {'unit':<6} "
            + " ".join(f"{name:>12}" for name in QUANTITY_FIELDS),
        ]
        for row in self.rows:
            lines.append(
                f"{row.gtin + '/' + row.lot:<32} {row.location:<20} {row.unit:<6} "
                + " ".join(f"{row.quantities[name]:>12}" for name in QUANTITY_FIELDS)
            )
        return "\n".join(lines) + "\n"


@dataclass(slots=True)
class SupplyGraph:
    """Lots, their movements and quantities, from log entries fed in order."""

    products: dict[Lot, tuple[str, str]] = field(default_factory=dict)  # product, unit
    quantities: dict[Node, _Quantities] = field(default_factory=dict)
    forward: dict[Node, set[Node]] = field(default_factory=dict)
    backward: dict[Node, set[Node]] = field(default_factory=dict)
    nodes_of: dict[Lot, set[Node]] = field(default_factory=dict)
    origins: dict[Lot, str] = field(default_factory=dict)

    def add_leaf(self, seq: int, leaf: bytes) -> None:
        try:
            envelope = json.loads(leaf)
            self.add_event(envelope["event"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise EntryError(
                seq, "event", f"not an event this verifier understands: {exc}"
            ) from exc

    def _q(self, ref: Any, location: str) -> _Quantities:
        lot = (ref["gtin"], ref["lot"])
        node = (lot[0], lot[1], location)
        found = self.quantities.get(node)
        if found is None:
            found = self.quantities[node] = _Quantities()
            self.nodes_of.setdefault(lot, set()).add(node)
        return found

    def _edge(self, a: Node, b: Node) -> None:
        self.forward.setdefault(a, set()).add(b)
        self.backward.setdefault(b, set()).add(a)

    def _product(self, ref: Any, product: str, unit: str, at: str) -> None:
        self.products.setdefault((ref["gtin"], ref["lot"]), (product, unit))
        self.origins.setdefault((ref["gtin"], ref["lot"]), at)

    def add_event(self, event: Mapping[str, Any]) -> None:
        etype = event["type"]
        if etype not in {
            "register", "ship", "receive", "transform", "sell", "consume", "dispose", "adjust",
        }:  # fmt: skip
            return
        at = event["location"]
        if etype == "transform":
            inputs = []
            for item in event["inputs"]:
                q = self._q(item["lot"], at)
                qty = parse_micro(item["quantity"])
                q.sold_or_used += qty
                q.on_hand -= qty
                inputs.append((item["lot"]["gtin"], item["lot"]["lot"], at))
            for item in event["outputs"]:
                self._product(item["lot"], item["product"], item["unit"], at)
                q = self._q(item["lot"], at)
                qty = parse_micro(item["quantity"])
                q.produced += qty
                q.on_hand += qty
                out: Node = (item["lot"]["gtin"], item["lot"]["lot"], at)
                for node in inputs:
                    self._edge(node, out)
            return
        ref = event["lot"]
        q = self._q(ref, at)
        if etype == "adjust":
            q.on_hand += parse_micro(event["variance"])
            return
        qty = parse_micro(event["quantity"])
        if etype == "register":
            self._product(ref, event["product"], event["unit"], at)
            q.produced += qty
            q.on_hand += qty
        elif etype == "ship":
            q.shipped += qty
            q.on_hand -= qty
            self._q(ref, event["to_location"])
            self._edge(
                (ref["gtin"], ref["lot"], at), (ref["gtin"], ref["lot"], event["to_location"])
            )
        elif etype == "receive":
            q.received += qty
            q.on_hand += qty
        elif etype == "dispose":
            q.disposed += qty
            q.on_hand -= qty
        else:  # sell, consume
            q.sold_or_used += qty
            q.on_hand -= qty

    def trace(
        self, lots: Iterable[Lot], direction: str = "forward", *, at: str | None = None
    ) -> RecallAnswer:
        """Every (lot, location) reached from ``lots`` (at their origins, or at ``at``)."""
        if direction not in ("forward", "backward"):
            raise ValueError(f"direction must be forward or backward, not {direction!r}")
        start = tuple(dict.fromkeys(lots))
        edges = self.forward if direction == "forward" else self.backward
        seen: set[Node] = set()
        queue: deque[Node] = deque()
        for ref in start:
            origin = self.origins.get(ref)
            if origin is None:
                raise LotNotFoundError(f"the log never registers lot {ref[0]}/{ref[1]}")
            node = (ref[0], ref[1], at or origin)
            if node not in self.quantities:
                raise LotNotFoundError(f"lot {ref[0]}/{ref[1]} was never at {at}")
            queue.append(node)
            seen.add(node)
        while queue:
            node = queue.popleft()
            for nxt in edges.get(node, ()):
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append(nxt)
        rows = []
        for gtin, code, location in sorted(seen):
            q = self.quantities[(gtin, code, location)]
            product, unit = self.products.get((gtin, code), ("", ""))
            rows.append(
                RecallRow(
                    gtin,
                    code,
                    location,
                    product,
                    unit,
                    {name: format_micro(getattr(q, name)) for name in QUANTITY_FIELDS},
                )
            )
        return RecallAnswer(
            start,
            direction,
            tuple(sorted({(g, c) for g, c, _ in seen})),
            tuple(sorted({loc for _, _, loc in seen})),
            tuple(rows),
        )


def parse_lot(text: str) -> Lot:
    """``GTIN/LOT`` (a lot code may itself hold '/', so split at the first one)."""
    gtin, slash, lot = text.partition("/")
    if not slash or not gtin or not lot:
        raise FormatError(f"a lot is GTIN/LOT, got {text!r}")
    return gtin, lot


def recall_from_export(
    stream: IO[bytes],
    key: VerifierKey,
    lots: Iterable[Lot],
    *,
    direction: str = "forward",
    at: str | None = None,
    progress: Progress | None = None,
) -> RecallAnswer:
    """Audit the export in full, building the supply graph as it goes; then trace."""
    graph = SupplyGraph()
    audit_export(stream, key, on_entry=graph.add_leaf, progress=progress, whole_log=True)
    return graph.trace(lots, direction, at=at)
