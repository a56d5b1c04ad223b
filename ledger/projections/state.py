"""The state the batch projector and the order rules share while they apply a batch."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel


@dataclass(slots=True)
class LotState:
    id: int
    gtin: str
    lot: str
    product: str
    unit: str
    org_id: str
    origin_location: str
    expiry: str | None
    registered_seq: int
    open_holds: int
    # Open holds by kind (HOLD_KINDS order); None while the lot has no lot_states row.
    kinds: list[int] | None = None
    new: bool = False
    dirty: bool = False
    state_new: bool = False
    state_dirty: bool = False
    state_seq: int = 0


@dataclass(slots=True)
class ShipmentState:
    seq: int
    lot_id: int
    from_location: str
    to_location: str
    shipment_id: str | None
    quantity: int
    received: int
    #: The purchase order of this ledger the shipment was made against, if any.
    order_id: str | None = None
    new: bool = False
    dirty: bool = False


@dataclass(slots=True)
class Applied:
    """One event to apply: its position in the request, its seq, who wrote it."""

    index: int
    seq: int
    actor: str
    recorded_at: str
    event: BaseModel
