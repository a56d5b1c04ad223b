"""On SQLite, make ``log_entries.seq`` the table's rowid.

0001 declared ``seq`` a BIGINT primary key, which SQLite keeps as a separate unique index
beside the table's own rowid B-tree: every proof's node lookup and every entry read
descended two B-trees, and every append maintained one index more. ``INTEGER PRIMARY
KEY`` is the rowid itself (64-bit, as BIGINT). The table is rebuilt with the same
columns, constraints, index and append-only triggers, its rows copied in order.
PostgreSQL is unchanged.

Revision ID: 0008_sqlite_entry_rowid
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0008_sqlite_entry_rowid"
down_revision = "0001"
branch_labels = None
depends_on = None

COLUMNS = "seq, event_id, leaf_hash, leaf_bytes, event_type, recorded_at, nodes"


def _rebuild(seq_type: str) -> None:
    for action in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS log_entries_no_{action}")
    op.execute("DROP INDEX IF EXISTS ix_log_entries_leaf_hash")
    op.execute(
        "CREATE TABLE log_entries_rebuilt ("
        f"seq {seq_type} NOT NULL PRIMARY KEY, "
        "event_id VARCHAR(36) NOT NULL, "
        "leaf_hash BLOB NOT NULL, "
        "leaf_bytes BLOB NOT NULL, "
        "event_type VARCHAR(32) NOT NULL, "
        "recorded_at VARCHAR(40) NOT NULL, "
        "nodes BLOB NOT NULL, "
        "CONSTRAINT uq_log_entries_event_id UNIQUE (event_id))"
    )
    op.execute(
        f"INSERT INTO log_entries_rebuilt ({COLUMNS}) "  # noqa: S608 - constant names
        f"SELECT {COLUMNS} FROM log_entries ORDER BY seq"
    )
    op.execute("DROP TABLE log_entries")
    op.execute("ALTER TABLE log_entries_rebuilt RENAME TO log_entries")
    op.execute("CREATE INDEX ix_log_entries_leaf_hash ON log_entries (leaf_hash)")
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER log_entries_no_{action.lower()} BEFORE {action} ON log_entries "
            f"BEGIN SELECT RAISE(ABORT, 'log_entries is append-only: {action} refused'); END"
        )


def upgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        _rebuild("INTEGER")


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        _rebuild("BIGINT")
