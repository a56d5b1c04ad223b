"""The tables. The log (entries with their tree nodes, checkpoints) is append-only; the
database refuses UPDATE and DELETE on it (see the migrations). Master data
(organisations, locations, products) is managed directly; lots, stock, holds
and orders are read models derived from the log and rebuilt by replaying it.
"""

from __future__ import annotations

from typing import Annotated, Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    func,
    literal_column,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names, so migrations can refer to them on every engine.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Seq = Annotated[int, mapped_column(BigInteger)]
Hash = Annotated[bytes, mapped_column(LargeBinary(32))]
Micro = Annotated[int, mapped_column(BigInteger)]  # quantities in 10**-6 units
Name = Annotated[str, mapped_column(String(200))]
LocationKey = Annotated[str, mapped_column(String(64))]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# -- the log ------------------------------------------------------------------


class Entry(Base):
    """One log entry: the exact canonical leaf bytes, and what it is indexed by."""

    __tablename__ = "log_entries"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    leaf_hash: Mapped[Hash]  # indexed by its first 8 bytes: ``leaf_key``
    leaf_bytes: Mapped[bytes] = mapped_column(LargeBinary)
    event_type: Mapped[str] = mapped_column(String(32))
    recorded_at: Mapped[str] = mapped_column(String(40))
    # The perfect subtrees this leaf completes, levels 1, 2, ... (32 bytes each): the
    # subtree at (level, index) is stored beside entry ((index + 1) << level) - 1.
    nodes: Mapped[bytes] = mapped_column(LargeBinary)


def leaf_key(leaf_hash: Any) -> ColumnElement[bytes]:
    """The first 8 bytes of a leaf hash: what entries are indexed by for a lookup by leaf hash
    (migration 0009 says why not all 32). A query repeats this exact expression, its
    positions as literals, so that SQLite and PostgreSQL match it to the index."""
    return func.substr(leaf_hash, literal_column("1"), literal_column("8"))


Index("ix_log_entries_leaf_key", leaf_key(Entry.leaf_hash))


class Checkpoint(Base):
    """A signed checkpoint for every committed append batch (C2SP tlog-checkpoint note)."""

    __tablename__ = "log_checkpoints"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[Hash]
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[str] = mapped_column(String(40))


class Head(Base):
    """The single row that writers lock: size, last leaf hash, the right frontier."""

    __tablename__ = "log_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    last_leaf_hash: Mapped[Hash]
    # The compact range: concatenated 32-byte perfect-subtree hashes, largest first.
    frontier: Mapped[bytes] = mapped_column(LargeBinary)


# -- master data ----------------------------------------------------------------


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[Name]
    created_at: Mapped[str] = mapped_column(String(40))


class Location(Base):
    __tablename__ = "locations"

    id: Mapped[LocationKey] = mapped_column(primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[Name]
    kind: Mapped[str] = mapped_column(String(32))
    gln: Mapped[str | None] = mapped_column(String(13), unique=True)
    address: Mapped[str | None] = mapped_column(String(400))


class Product(Base):
    __tablename__ = "products"

    gtin: Mapped[str] = mapped_column(String(14), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    description: Mapped[Name]
    unit: Mapped[str] = mapped_column(String(16))
    shelf_life_days: Mapped[int | None] = mapped_column(Integer)
    temp_min_c: Mapped[str | None] = mapped_column(String(16))
    temp_max_c: Mapped[str | None] = mapped_column(String(16))
    #: Kilograms in one trade item of the GTIN (normalized decimal), for labels' AI (310n).
    net_weight_kg: Mapped[str | None] = mapped_column(String(16))


# -- read models (derived from the log) -----------------------------------------


class Lot(Base):
    __tablename__ = "lots"

    # (seq of the creating entry << 7) | output position: deterministic on replay.
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    gtin: Mapped[str] = mapped_column(String(14))
    lot: Mapped[str] = mapped_column(String(20))
    product: Mapped[Name]
    unit: Mapped[str] = mapped_column(String(16))
    org_id: Mapped[str] = mapped_column(String(64))
    origin_location: Mapped[LocationKey]
    expiry: Mapped[str | None] = mapped_column(String(10))
    registered_seq: Mapped[Seq]
    open_holds: Mapped[int] = mapped_column(Integer, default=0)

    # Lot first: batches look lots up by lot code (one-column IN), then match the GTIN.
    __table_args__ = (Index("uq_lots_lot_gtin", "lot", "gtin", unique=True),)


class Stock(Base):
    """Quantity on hand per (location, lot)."""

    __tablename__ = "stock"

    location_id: Mapped[LocationKey] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)
    on_hand: Mapped[Micro]


class LotEvent(Base):
    """Which entries touch which lot: a lot's history in order."""

    __tablename__ = "lot_events"

    lot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)


class Shipment(Base):
    """Every ship event, and how much of it has been received."""

    __tablename__ = "shipments"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    lot_id: Mapped[int] = mapped_column(BigInteger, index=True)
    from_location: Mapped[LocationKey]
    to_location: Mapped[LocationKey] = mapped_column(index=True)
    shipment_id: Mapped[str | None] = mapped_column(String(200))
    quantity: Mapped[Micro]
    received: Mapped[Micro]


class HoldRecord(Base):
    __tablename__ = "holds"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    lot_id: Mapped[int] = mapped_column(BigInteger, index=True)
    org_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    reason: Mapped[Name]
    recall_id: Mapped[str | None] = mapped_column(String(200))
    released_seq: Mapped[int | None] = mapped_column(BigInteger)


class Transformation(Base):
    """An input lot consumed into an output lot by a transform event: the lot graph's edges."""

    __tablename__ = "transformations"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    input_lot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    output_lot_id: Mapped[int] = mapped_column(
        BigInteger, primary_key=True, autoincrement=False, index=True
    )
    location_id: Mapped[LocationKey]
    input_quantity: Mapped[Micro]


class Order(Base):
    __tablename__ = "orders"

    order_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    buyer_location: Mapped[LocationKey]
    supplier_location: Mapped[LocationKey]
    status: Mapped[str] = mapped_column(String(32))
    placed_seq: Mapped[Seq]
    promised_date: Mapped[str | None] = mapped_column(String(10))


LOG_TABLES = ("log_entries", "log_checkpoints")
READ_MODEL_TABLES = (
    "lot_events",
    "stock",
    "shipments",
    "holds",
    "transformations",
    "orders",
    "lots",
    "lot_flows",
)


# -- access (API keys) ----------------------------------------------------------


class ApiKey(Base):
    """An API key: only the SHA-256 of its secret is stored, with its organisation and role."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    secret_hash: Mapped[Hash] = mapped_column(unique=True)
    last4: Mapped[str] = mapped_column(String(4))
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[str] = mapped_column(String(40))
    revoked_at: Mapped[str | None] = mapped_column(String(40))


class StaffSession(Base):
    """A signed-in /scan session: only the SHA-256 of its random token is stored, with the
    key it acts for (a revoked key ends it) and when it expires (Unix seconds)."""

    __tablename__ = "staff_sessions"

    token_hash: Mapped[Hash] = mapped_column(primary_key=True)
    key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id"), index=True)
    created_at: Mapped[str] = mapped_column(String(40))
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)


# -- inventory and ordering (issue 7) ---------------------------------------------
# Read models below are rebuilt by replaying the log; ProductTerms and OrderPolicy are
# master data, like products.


class LotStatusRecord(Base):
    """A lot's status, its own fact beside expiry: approved unless an open hold says
    otherwise (quality: on_hold, quarantine: quarantined, recall: recalled, damage:
    damaged; the most severe wins). Sparse: only lots that were ever held have a row."""

    __tablename__ = "lot_states"

    lot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(16), index=True)
    quality: Mapped[int] = mapped_column(Integer)
    quarantine: Mapped[int] = mapped_column(Integer)
    recall: Mapped[int] = mapped_column(Integer)
    damage: Mapped[int] = mapped_column(Integer)
    changed_seq: Mapped[Seq]


class InventoryDaily(Base):
    """Quantities that left or were corrected per (location, product, day, kind, reason):
    sales history for forecasts, and shrinkage and waste for reports."""

    __tablename__ = "inventory_daily"

    location_id: Mapped[LocationKey] = mapped_column(primary_key=True)
    gtin: Mapped[str] = mapped_column(String(14), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    reason: Mapped[str] = mapped_column(String(32), primary_key=True)
    quantity: Mapped[Micro]


class OrderProgress(Base):
    """What ``orders`` does not say: value, approval, the days each step happened."""

    __tablename__ = "order_progress"

    order_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    buyer_org: Mapped[str] = mapped_column(String(64), index=True)
    supplier_org: Mapped[str] = mapped_column(String(64), index=True)
    value: Mapped[Micro]
    approval_required: Mapped[int] = mapped_column(Integer)
    approved_seq: Mapped[int | None] = mapped_column(BigInteger)
    placed_day: Mapped[str] = mapped_column(String(10))
    confirmed_day: Mapped[str | None] = mapped_column(String(10))
    shipped_day: Mapped[str | None] = mapped_column(String(10))
    received_day: Mapped[str | None] = mapped_column(String(10))
    closed_day: Mapped[str | None] = mapped_column(String(10))
    note: Mapped[str | None] = mapped_column(String(200))
    #: Why the order awaits a manager (``order_placed``'s ``approval_reason``), or None.
    approval_reason: Mapped[str | None] = mapped_column(Text)


class OrderLineRecord(Base):
    """One product of an order: ordered, shipped, and received in full, damaged or warm."""

    __tablename__ = "order_lines"

    order_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    gtin: Mapped[str] = mapped_column(String(14), primary_key=True)
    unit: Mapped[str] = mapped_column(String(16))
    ordered: Mapped[Micro]
    unit_price: Mapped[Micro]
    shipped: Mapped[Micro]
    received: Mapped[Micro]
    damaged: Mapped[Micro]
    out_of_temperature: Mapped[Micro]


class OrderLot(Base):
    """Each ship or receive event that carried a lot for an order (reference type "po")."""

    __tablename__ = "order_lots"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    order_id: Mapped[str] = mapped_column(String(200), index=True)
    lot_id: Mapped[int] = mapped_column(BigInteger, index=True)
    direction: Mapped[str] = mapped_column(String(8))
    location_id: Mapped[LocationKey]
    quantity: Mapped[Micro]
    damaged: Mapped[Micro]
    out_of_temperature: Mapped[Micro]


class ProductTerms(Base):
    """One buying organisation's ordering terms of a product (master data): case pack,
    minimum order, its agreed unit cost, its shelf price, days before expiry it leaves the
    shelf, where it is ordered from, quoted lead time. Another organisation's terms of the
    same product are its own rows."""

    __tablename__ = "product_terms"

    org_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    gtin: Mapped[str] = mapped_column(String(14), primary_key=True)
    case_pack: Mapped[Micro]
    min_order: Mapped[Micro]
    unit_cost: Mapped[Micro]
    unit_price: Mapped[Micro]
    removal_days: Mapped[int] = mapped_column(Integer)
    supplier_location: Mapped[str | None] = mapped_column(String(64))
    lead_time_days: Mapped[int] = mapped_column(Integer)


class ProductSupplier(Base):
    """A product one buying organisation orders from more than one supplier (master data):
    each supplier location with its quoted lead time, ``rank`` 0 the preferred. A product
    with no rows here is ordered from the organisation's terms' ``supplier_location``."""

    __tablename__ = "product_suppliers"

    org_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    gtin: Mapped[str] = mapped_column(String(14), primary_key=True)
    supplier_location: Mapped[str] = mapped_column(String(64), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer)
    lead_time_days: Mapped[int] = mapped_column(Integer)


class CataloguePrice(Base):
    """The supplier's catalogue (list) price of a product (master data): set only by the
    organisation that registered the product, read by its buyers. The price an order is
    valued at when the buyer agreed no unit cost of its own."""

    __tablename__ = "product_catalogue"

    gtin: Mapped[str] = mapped_column(String(14), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(64))
    unit_price: Mapped[Micro]


class OrderPolicy(Base):
    """Per buying organisation: orders worth more than ``approval_limit`` need a manager."""

    __tablename__ = "order_policies"

    org_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    approval_limit: Mapped[Micro]


INVENTORY_READ_MODELS = (
    "lot_states",
    "inventory_daily",
    "order_progress",
    "order_lines",
    "order_lots",
)
# Replay empties every read model: the inventory ones join the core's list.
READ_MODEL_TABLES = (*READ_MODEL_TABLES, *INVENTORY_READ_MODELS)  # type: ignore[assignment]


# -- EPCIS (issue 17) -----------------------------------------------------------


class EpcisEventHash(Base):
    """Each captured EPCIS event's CBV 2.0 hash ID, per capturing organisation: a read
    model (the hash is in the event on the log), so that a resent event is found."""

    __tablename__ = "epcis_event_hashes"

    org_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_hash: Mapped[str] = mapped_column(String(100), primary_key=True)
    seq: Mapped[Seq] = mapped_column(index=True)


class EpcisCaptureJob(Base):
    """The outcome of one ``POST /epcis/v2/capture``: not evidence, the log holds that."""

    __tablename__ = "epcis_capture_jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[str] = mapped_column(String(40))
    success: Mapped[bool]
    event_count: Mapped[int] = mapped_column(Integer)
    #: JSON: the captured events' receipts, or every error with its event index and pointer.
    outcome: Mapped[str] = mapped_column(Text)


READ_MODEL_TABLES = (*READ_MODEL_TABLES, "epcis_event_hashes")  # type: ignore[assignment]
