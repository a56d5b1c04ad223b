"""The trace graph's indexes, per-(location, lot) flow totals, and recalls.

Revision ID: 0003
Revises: 0001

Trace walks the lot graph with recursive queries: shipments are followed from
(lot, from_location) forward and from (lot, to_location) backward;
transformations from (input lot, location) forward and from (output lot,
location) backward. Each step is one index lookup, so a trace costs what it
finds, not what the ledger holds.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    big = sa.BigInteger()
    op.create_index("ix_shipments_lot_from", "shipments", ["lot_id", "from_location"])
    op.create_index("ix_shipments_lot_to", "shipments", ["lot_id", "to_location"])
    op.create_index(
        "ix_transformations_input_loc", "transformations", ["input_lot_id", "location_id"]
    )
    op.create_index(
        "ix_transformations_output_loc", "transformations", ["output_lot_id", "location_id"]
    )
    op.create_index("ix_lots_gtin", "lots", ["gtin"])
    # What happened to each lot at each location, in micro-units (a read model).
    op.create_table(
        "lot_flows",
        sa.Column("location_id", sa.String(64), primary_key=True),
        sa.Column("lot_id", big, primary_key=True),
        sa.Column("produced", big, nullable=False),
        sa.Column("received", big, nullable=False),
        sa.Column("shipped", big, nullable=False),
        sa.Column("used", big, nullable=False),
        sa.Column("sold", big, nullable=False),
        sa.Column("consumed", big, nullable=False),
        sa.Column("disposed", big, nullable=False),
        sa.Column("adjusted", big, nullable=False),
    )
    op.create_index("ix_lot_flows_lot_id", "lot_flows", ["lot_id"])
    op.create_table(
        "recalls",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("classification", sa.String(3), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("max_depth", sa.Integer()),
        sa.Column("starts", sa.Text(), nullable=False),
        sa.Column("created_seq", big, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("closed_at", sa.String(40)),
    )
    op.create_table(
        "recall_items",
        sa.Column("recall_id", sa.String(64), sa.ForeignKey("recalls.id"), primary_key=True),
        sa.Column("location_id", sa.String(64), primary_key=True),
        sa.Column("lot_id", big, primary_key=True),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("at_risk", big, nullable=False),
        sa.Column("base_disposed", big, nullable=False),
        sa.Column("base_shipped", big, nullable=False),
    )
    op.create_table(
        "recall_locations",
        sa.Column("recall_id", sa.String(64), sa.ForeignKey("recalls.id"), primary_key=True),
        sa.Column("location_id", sa.String(64), primary_key=True),
        sa.Column("confirmed_at", sa.String(40)),
        sa.Column("confirmed_by", sa.String(64)),
    )


def downgrade() -> None:
    op.drop_table("recall_locations")
    op.drop_table("recall_items")
    op.drop_table("recalls")
    op.drop_index("ix_lot_flows_lot_id", "lot_flows")
    op.drop_table("lot_flows")
    op.drop_index("ix_lots_gtin", "lots")
    op.drop_index("ix_transformations_output_loc", "transformations")
    op.drop_index("ix_transformations_input_loc", "transformations")
    op.drop_index("ix_shipments_lot_to", "shipments")
    op.drop_index("ix_shipments_lot_from", "shipments")
