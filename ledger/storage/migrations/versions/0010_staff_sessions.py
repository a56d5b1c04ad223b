"""Staff sessions for the /scan pages: a random token's SHA-256, the key it acts for, and
when it expires. The session cookie holds the token, never the API key.

Revision ID: 0010_staff_sessions
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_staff_sessions"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_sessions",
        sa.Column("token_hash", sa.LargeBinary(32), nullable=False),
        sa.Column(
            "key_id",
            sa.String(32),
            sa.ForeignKey("api_keys.id", name="fk_staff_sessions_key_id_api_keys"),
            nullable=False,
        ),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name="pk_staff_sessions"),
    )
    op.create_index("ix_staff_sessions_key_id", "staff_sessions", ["key_id"])
    op.create_index("ix_staff_sessions_expires_at", "staff_sessions", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_staff_sessions_expires_at", table_name="staff_sessions")
    op.drop_index("ix_staff_sessions_key_id", table_name="staff_sessions")
    op.drop_table("staff_sessions")
