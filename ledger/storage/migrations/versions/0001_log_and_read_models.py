"""The log, master data and the first read models; append-only triggers.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

LOG_TABLES = ("log_entries", "log_checkpoints")


def upgrade() -> None:
    big = sa.BigInteger()
    op.create_table(
        "log_entries",
        sa.Column("seq", big, primary_key=True, autoincrement=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("leaf_bytes", sa.LargeBinary(), nullable=False),
        sa.Column("event_type", sa.String(32), nullable=False),
        sa.Column("recorded_at", sa.String(40), nullable=False),
        sa.Column("nodes", sa.LargeBinary(), nullable=False),
        sa.UniqueConstraint("event_id", name="uq_log_entries_event_id"),
    )
    op.create_index("ix_log_entries_leaf_hash", "log_entries", ["leaf_hash"])
    op.create_table(
        "log_checkpoints",
        sa.Column("tree_size", big, primary_key=True, autoincrement=False),
        sa.Column("root_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "log_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("tree_size", big, nullable=False),
        sa.Column("last_leaf_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("frontier", sa.LargeBinary(), nullable=False),
    )
    op.execute(
        sa.text(
            "INSERT INTO log_head (id, tree_size, last_leaf_hash, frontier) "
            "VALUES (1, 0, :zero, :empty)"
        ).bindparams(
            sa.bindparam("zero", bytes(32), type_=sa.LargeBinary()),
            sa.bindparam("empty", b"", type_=sa.LargeBinary()),
        )
    )
    op.create_table(
        "organisations",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "locations",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("org_id", sa.String(64), sa.ForeignKey("organisations.id"), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("gln", sa.String(13), nullable=True),
        sa.Column("address", sa.String(400), nullable=True),
        sa.UniqueConstraint("gln", name="uq_locations_gln"),
    )
    op.create_index("ix_locations_org_id", "locations", ["org_id"])
    op.create_table(
        "products",
        sa.Column("gtin", sa.String(14), primary_key=True),
        sa.Column("org_id", sa.String(64), sa.ForeignKey("organisations.id"), nullable=False),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("shelf_life_days", sa.Integer(), nullable=True),
        sa.Column("temp_min_c", sa.String(16), nullable=True),
        sa.Column("temp_max_c", sa.String(16), nullable=True),
    )
    op.create_index("ix_products_org_id", "products", ["org_id"])
    op.create_table(
        "lots",
        sa.Column("id", big, primary_key=True, autoincrement=False),
        sa.Column("gtin", sa.String(14), nullable=False),
        sa.Column("lot", sa.String(20), nullable=False),
        sa.Column("product", sa.String(200), nullable=False),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("origin_location", sa.String(64), nullable=False),
        sa.Column("expiry", sa.String(10), nullable=True),
        sa.Column("registered_seq", big, nullable=False),
        sa.Column("open_holds", sa.Integer(), nullable=False),
    )
    op.create_index("uq_lots_lot_gtin", "lots", ["lot", "gtin"], unique=True)
    op.create_table(
        "stock",
        sa.Column("location_id", sa.String(64), primary_key=True),
        sa.Column("lot_id", big, primary_key=True),
        sa.Column("on_hand", big, nullable=False),
    )
    op.create_index("ix_stock_lot_id", "stock", ["lot_id"])
    op.create_table(
        "lot_events",
        sa.Column("lot_id", big, primary_key=True, autoincrement=False),
        sa.Column("seq", big, primary_key=True, autoincrement=False),
    )
    op.create_table(
        "shipments",
        sa.Column("seq", big, primary_key=True, autoincrement=False),
        sa.Column("lot_id", big, nullable=False),
        sa.Column("from_location", sa.String(64), nullable=False),
        sa.Column("to_location", sa.String(64), nullable=False),
        sa.Column("shipment_id", sa.String(200), nullable=True),
        sa.Column("quantity", big, nullable=False),
        sa.Column("received", big, nullable=False),
    )
    op.create_index("ix_shipments_lot_id", "shipments", ["lot_id"])
    op.create_index("ix_shipments_to_location", "shipments", ["to_location"])
    op.create_table(
        "holds",
        sa.Column("seq", big, primary_key=True, autoincrement=False),
        sa.Column("lot_id", big, nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("recall_id", sa.String(200), nullable=True),
        sa.Column("released_seq", big, nullable=True),
    )
    op.create_index("ix_holds_lot_id", "holds", ["lot_id"])
    op.create_table(
        "transformations",
        sa.Column("seq", big, primary_key=True, autoincrement=False),
        sa.Column("input_lot_id", big, primary_key=True, autoincrement=False),
        sa.Column("output_lot_id", big, primary_key=True, autoincrement=False),
        sa.Column("location_id", sa.String(64), nullable=False),
        sa.Column("input_quantity", big, nullable=False),
    )
    op.create_index("ix_transformations_output_lot_id", "transformations", ["output_lot_id"])
    op.create_table(
        "orders",
        sa.Column("order_id", sa.String(200), primary_key=True),
        sa.Column("buyer_location", sa.String(64), nullable=False),
        sa.Column("supplier_location", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("placed_seq", big, nullable=False),
        sa.Column("promised_date", sa.String(10), nullable=True),
    )
    _append_only_triggers()


def _append_only_triggers() -> None:
    if op.get_context().dialect.name == "sqlite":
        for table in LOG_TABLES:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {action} refused'); END"
                )
        return
    op.execute(
        "CREATE FUNCTION lotledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP "
        "USING ERRCODE = 'insufficient_privilege'; END $$"
    )
    for table in LOG_TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION lotledger_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION lotledger_append_only()"
        )


def downgrade() -> None:
    raise RuntimeError("the log cannot be downgraded: it is append-only")
