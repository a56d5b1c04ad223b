"""EPCIS 2.0 capture (issue 17): the index of captured events' CBV 2.0 hash IDs (a read
model: the hash is part of each event on the log) and the capture jobs' outcomes.

Revision ID: epcis_0001
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "epcis_0001"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "epcis_event_hashes",
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("event_hash", sa.String(100), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("org_id", "event_hash", name="pk_epcis_event_hashes"),
    )
    op.create_index("ix_epcis_event_hashes_seq", "epcis_event_hashes", ["seq"])
    op.create_table(
        "epcis_capture_jobs",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("org_id", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("success", sa.Boolean, nullable=False),
        sa.Column("event_count", sa.Integer, nullable=False),
        sa.Column("outcome", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_epcis_capture_jobs"),
    )
    op.create_index("ix_epcis_capture_jobs_org_id", "epcis_capture_jobs", ["org_id"])


def downgrade() -> None:
    op.drop_table("epcis_capture_jobs")
    op.drop_table("epcis_event_hashes")
