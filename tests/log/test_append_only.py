"""The database itself refuses to change or remove log entries, on both engines."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from ledger import Ledger
from tests.conftest import Events

STATEMENTS = {
    "update-entry": "UPDATE log_entries SET leaf_bytes = leaf_bytes WHERE seq = 0",
    "delete-entry": "DELETE FROM log_entries WHERE seq = 0",
    "update-nodes": "UPDATE log_entries SET nodes = nodes",
    "update-checkpoint": "UPDATE log_checkpoints SET note = 'forged'",
    "delete-checkpoint": "DELETE FROM log_checkpoints",
}


@pytest.mark.parametrize("sql", STATEMENTS.values(), ids=STATEMENTS.keys())
def test_database_refuses_update_and_delete(world: Ledger, ev: Events, sql: str) -> None:
    world.append([ev.register("L1"), ev.register("L2")], actor="farm")
    before = [(e.seq, e.leaf_bytes) for e in world.entries(0, 2)]
    with pytest.raises(DatabaseError, match="append-only"), world.engine.begin() as conn:
        conn.execute(text(sql))
    assert [(e.seq, e.leaf_bytes) for e in world.entries(0, 2)] == before
    assert world.root() == world.latest_checkpoint()[1]


def test_truncate_refused_on_postgresql(world: Ledger, ev: Events) -> None:
    if world.engine.dialect.name != "postgresql":
        pytest.skip("TRUNCATE exists only on PostgreSQL (SQLite has no such statement)")
    world.append([ev.register("L1")], actor="farm")
    with pytest.raises(DatabaseError, match="append-only"), world.engine.begin() as conn:
        conn.execute(text("TRUNCATE log_entries CASCADE"))
    assert world.size() == 1
