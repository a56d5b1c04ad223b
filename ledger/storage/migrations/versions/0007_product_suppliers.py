"""Products ordered from more than one supplier: each (product, supplier) with its quoted
lead time and its rank (0 = preferred). Master data, not a read model.

Revision ID: 0007_product_suppliers
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_product_suppliers"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "product_suppliers",
        sa.Column("gtin", sa.String(14), primary_key=True),
        sa.Column("supplier_location", sa.String(64), primary_key=True),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("lead_time_days", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("product_suppliers")
