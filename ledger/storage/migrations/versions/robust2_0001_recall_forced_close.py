"""A recall closed with locations outstanding: who closed it, why, and what was outstanding
then (the locations and, per lot, what they still held or had in transit).

Revision ID: robust2_0001
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "robust2_0001"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("recalls") as batch:
        batch.add_column(sa.Column("closed_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("close_reason", sa.String(500), nullable=True))
        batch.add_column(sa.Column("outstanding_at_close", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("recalls") as batch:
        batch.drop_column("outstanding_at_close")
        batch.drop_column("close_reason")
        batch.drop_column("closed_by")
