"""Inventory and ordering: lot status, daily movements, order progress, lines and lots,
product ordering terms and approval policies.

Revision ID: 0005
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    big = sa.BigInteger()
    op.create_table(
        "lot_states",
        sa.Column("lot_id", big, primary_key=True, autoincrement=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("quality", sa.Integer(), nullable=False),
        sa.Column("quarantine", sa.Integer(), nullable=False),
        sa.Column("recall", sa.Integer(), nullable=False),
        sa.Column("damage", sa.Integer(), nullable=False),
        sa.Column("changed_seq", big, nullable=False),
    )
    op.create_index("ix_lot_states_status", "lot_states", ["status"])
    op.create_table(
        "inventory_daily",
        sa.Column("location_id", sa.String(64), primary_key=True),
        sa.Column("gtin", sa.String(14), primary_key=True),
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("reason", sa.String(32), primary_key=True),
        sa.Column("quantity", big, nullable=False),
    )
    op.create_table(
        "order_progress",
        sa.Column("order_id", sa.String(200), primary_key=True),
        sa.Column("buyer_org", sa.String(64), nullable=False),
        sa.Column("supplier_org", sa.String(64), nullable=False),
        sa.Column("value", big, nullable=False),
        sa.Column("approval_required", sa.Integer(), nullable=False),
        sa.Column("approved_seq", big, nullable=True),
        sa.Column("placed_day", sa.String(10), nullable=False),
        sa.Column("confirmed_day", sa.String(10), nullable=True),
        sa.Column("shipped_day", sa.String(10), nullable=True),
        sa.Column("received_day", sa.String(10), nullable=True),
        sa.Column("closed_day", sa.String(10), nullable=True),
        sa.Column("note", sa.String(200), nullable=True),
    )
    op.create_index("ix_order_progress_buyer_org", "order_progress", ["buyer_org"])
    op.create_index("ix_order_progress_supplier_org", "order_progress", ["supplier_org"])
    op.create_index("ix_orders_buyer_location", "orders", ["buyer_location"])
    op.create_index("ix_orders_supplier_location", "orders", ["supplier_location"])
    op.create_table(
        "order_lines",
        sa.Column("order_id", sa.String(200), primary_key=True),
        sa.Column("gtin", sa.String(14), primary_key=True),
        sa.Column("unit", sa.String(16), nullable=False),
        sa.Column("ordered", big, nullable=False),
        sa.Column("unit_price", big, nullable=False),
        sa.Column("shipped", big, nullable=False),
        sa.Column("received", big, nullable=False),
        sa.Column("damaged", big, nullable=False),
        sa.Column("out_of_temperature", big, nullable=False),
    )
    op.create_table(
        "order_lots",
        sa.Column("seq", big, primary_key=True, autoincrement=False),
        sa.Column("order_id", sa.String(200), nullable=False),
        sa.Column("lot_id", big, nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("location_id", sa.String(64), nullable=False),
        sa.Column("quantity", big, nullable=False),
        sa.Column("damaged", big, nullable=False),
        sa.Column("out_of_temperature", big, nullable=False),
    )
    op.create_index("ix_order_lots_order_id", "order_lots", ["order_id"])
    op.create_index("ix_order_lots_lot_id", "order_lots", ["lot_id"])
    op.create_table(
        "product_terms",
        sa.Column("gtin", sa.String(14), primary_key=True),
        sa.Column("case_pack", big, nullable=False),
        sa.Column("min_order", big, nullable=False),
        sa.Column("unit_cost", big, nullable=False),
        sa.Column("unit_price", big, nullable=False),
        sa.Column("removal_days", sa.Integer(), nullable=False),
        sa.Column("supplier_location", sa.String(64), nullable=True),
        sa.Column("lead_time_days", sa.Integer(), nullable=False),
    )
    op.create_table(
        "order_policies",
        sa.Column("org_id", sa.String(64), primary_key=True),
        sa.Column("approval_limit", big, nullable=False),
    )
    # Lots held before this migration: their status from their open holds. (Sales history,
    # order lines and lots fill in on the next replay of the log: Ledger.replay.)
    count = "SUM(CASE WHEN kind = '{0}' THEN 1 ELSE 0 END)"
    op.execute(
        "INSERT INTO lot_states (lot_id, status, quality, quarantine, recall, damage, "  # noqa: S608 - constants
        "changed_seq) SELECT lot_id, CASE "
        f"WHEN {count.format('recall')} > 0 THEN 'recalled' "
        f"WHEN {count.format('quarantine')} > 0 THEN 'quarantined' "
        f"WHEN {count.format('damage')} > 0 THEN 'damaged' ELSE 'on_hold' END, "
        f"{count.format('quality')}, {count.format('quarantine')}, {count.format('recall')}, "
        f"{count.format('damage')}, MAX(seq) FROM holds WHERE released_seq IS NULL "
        "GROUP BY lot_id"
    )


def downgrade() -> None:
    for table in (
        "order_policies",
        "product_terms",
        "order_lots",
        "order_lines",
        "order_progress",
        "inventory_daily",
        "lot_states",
    ):
        op.drop_table(table)
    op.drop_index("ix_orders_supplier_location", "orders")
    op.drop_index("ix_orders_buyer_location", "orders")
