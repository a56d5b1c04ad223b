"""Products carry their net weight: kilograms in one trade item of the GTIN (a case,
a bag), a normalized decimal string, printed on lot labels and encoded as GS1 AI (310n)
in the label's Digital Link URI and GS1-128 barcode. Master data, not a read model.

Revision ID: 0010_product_net_weight
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_product_net_weight"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("net_weight_kg", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.drop_column("net_weight_kg")
