"""A recall as a record: its locations' progress and each recalled lot there."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ledger.lineage.graph import Direction, TraceStart
from ledger.quantity import format_micro


@dataclass(slots=True)
class RecallItem:
    """One recalled lot at one location: what was at risk when the holds went on, what has
    been recovered since, and the lot's quantities there now (micro-units, totals since the
    lot came into being: produced, received, shipped; in transit to the location now)."""

    gtin: str
    lot: str
    location: str
    at_risk: int
    recovered: int
    on_hand: int
    product: str = ""
    unit: str = ""
    produced: int = 0
    received: int = 0
    shipped: int = 0
    in_transit: int = 0
    sold_or_used: int = 0
    disposed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "gtin": self.gtin,
            "lot": self.lot,
            "product": self.product,
            "unit": self.unit,
            "location": self.location,
            "at_risk": format_micro(self.at_risk),
            "recovered": format_micro(self.recovered),
            "produced": format_micro(self.produced),
            "received": format_micro(self.received),
            "shipped": format_micro(self.shipped),
            "in_transit": format_micro(self.in_transit),
            "on_hand": format_micro(self.on_hand),
            "sold_or_used": format_micro(self.sold_or_used),
            "disposed": format_micro(self.disposed),
        }


@dataclass(slots=True)
class LocationProgress:
    """A location's part of a recall. It is complete once it has confirmed removal and
    holds none of the recalled lots, on hand or in transit to it: goods still on their way
    to a location keep it outstanding (it cannot confirm until they arrive)."""

    location: str
    org_id: str
    at_risk: int
    recovered: int
    confirmed_at: str | None
    confirmed_by: str | None
    items: list[RecallItem] = field(default_factory=list)
    location_name: str = ""

    @property
    def on_hand(self) -> int:
        return sum(i.on_hand for i in self.items)

    @property
    def in_transit(self) -> int:
        return sum(i.in_transit for i in self.items)

    @property
    def complete(self) -> bool:
        return self.confirmed_at is not None and self.on_hand <= 0 and self.in_transit <= 0

    @property
    def outstanding(self) -> bool:
        return not self.complete

    def _total(self, name: str) -> str:
        return format_micro(sum(getattr(i, name) for i in self.items))

    def as_dict(self) -> dict[str, Any]:
        return {
            "location": self.location,
            "location_name": self.location_name,
            "org_id": self.org_id,
            "at_risk": format_micro(self.at_risk),
            "recovered": format_micro(self.recovered),
            "produced": self._total("produced"),
            "received": self._total("received"),
            "shipped": self._total("shipped"),
            "in_transit": format_micro(self.in_transit),
            "on_hand": format_micro(self.on_hand),
            "confirmed_at": self.confirmed_at,
            "confirmed_by": self.confirmed_by,
            "complete": self.complete,
            "items": [i.as_dict() for i in self.items],
        }


@dataclass(slots=True)
class Recall:
    id: str
    org_id: str
    reason: str
    classification: str
    status: Literal["open", "closed"]
    direction: Direction
    max_depth: int | None
    starts: list[TraceStart]
    created_seq: int
    created_at: str
    closed_at: str | None
    locations: list[LocationProgress]
    holds_appended: int = 0
    closed_by: str | None = None
    close_reason: str | None = None
    # A forced close: each outstanding location and what it still held or had in transit.
    outstanding_at_close: list[dict[str, Any]] | None = None

    @property
    def at_risk(self) -> int:
        return sum(loc.at_risk for loc in self.locations)

    @property
    def recovered(self) -> int:
        return sum(loc.recovered for loc in self.locations)

    @property
    def outstanding(self) -> list[str]:
        return [loc.location for loc in self.locations if loc.outstanding]

    @property
    def in_transit(self) -> int:
        return sum(loc.in_transit for loc in self.locations)

    @property
    def complete(self) -> bool:
        """Every location has confirmed and none has recalled stock on hand or on its way."""
        return not self.outstanding

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "org_id": self.org_id,
            "reason": self.reason,
            "classification": self.classification,
            "status": self.status,
            "direction": self.direction,
            "max_depth": self.max_depth,
            "starts": [{"gtin": s.gtin, "lot": s.lot, "location": s.location} for s in self.starts],
            "created_seq": self.created_seq,
            "created_at": self.created_at,
            "closed_at": self.closed_at,
            "closed_by": self.closed_by,
            "close_reason": self.close_reason,
            "forced": self.outstanding_at_close is not None,
            "outstanding_at_close": self.outstanding_at_close,
            "progress": {
                "at_risk": format_micro(self.at_risk),
                "recovered": format_micro(self.recovered),
                "in_transit": format_micro(self.in_transit),
                "locations": len(self.locations),
                "confirmed": sum(1 for loc in self.locations if loc.confirmed_at is not None),
                "outstanding": self.outstanding,
                "complete": self.complete,
            },
            "locations": [loc.as_dict() for loc in self.locations],
        }
