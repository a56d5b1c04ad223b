"""Migrations on a ledger that already holds entries: nothing in the log changes."""

from __future__ import annotations

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from ledger import Ledger, Settings, create_location, create_organisation
from ledger.storage.db import make_engine
from ledger.storage.migrate import alembic_config, upgrade
from tests.conftest import Events
from verifier.proofs import verify_consistency, verify_inclusion

ROWID = "0008_sqlite_entry_rowid"
LEAF_KEY = "0009_leaf_key_index"  # after ROWID, which rebuilds the table and its indexes


def test_the_entry_migrations_keep_every_entry_and_the_log_append_only(
    settings: Settings, ev: Events
) -> None:
    engine = make_engine(settings.database_url)
    script = ScriptDirectory.from_config(alembic_config())
    heads = script.get_heads()
    assert LEAF_KEY in heads
    assert script.get_revision(LEAF_KEY).down_revision == ROWID
    for head in heads:
        if head != LEAF_KEY:
            upgrade(engine, head)
    old = Ledger.open(settings, migrate=False)
    create_organisation(old.engine, "farm", "Green Valley Farm")
    create_location(old.engine, "farm-field-1", org_id="farm", name="Field 1", kind="farm")
    for n in range(5):
        old.append([ev.register(f"L{n}a"), ev.register(f"L{n}b")], actor="farm")
    before = [(e.seq, e.leaf_hash, e.leaf_bytes) for e in old.entries(0, 10)]
    root, checkpoint = old.root(10), old.latest_checkpoint()[2]
    old.close()

    upgrade(engine)  # every head: the rebuild (a no-op on PostgreSQL), the leaf-key index
    engine.dispose()
    ledger = Ledger.open(settings)
    try:
        assert [(e.seq, e.leaf_hash, e.leaf_bytes) for e in ledger.entries(0, 10)] == before
        assert ledger.root(10) == root
        assert ledger.latest_checkpoint()[2] == checkpoint
        assert [ledger.index_of(leaf) for _, leaf, _ in before] == list(range(10))
        for index in range(10):
            proof = ledger.inclusion_proof(index, 10)
            verify_inclusion(index, 10, before[index][1], proof, root)
        receipt = ledger.append([ev.register("L9")], actor="farm").receipts[0]
        assert receipt.seq == 10
        verify_consistency(10, 11, root, ledger.root(11), ledger.consistency_proof(10, 11))
        with pytest.raises(DatabaseError, match="append-only"), ledger.engine.begin() as conn:
            conn.execute(text("DELETE FROM log_entries WHERE seq = 3"))
        if ledger.engine.dialect.name == "sqlite":
            with ledger.engine.connect() as conn:
                info = conn.exec_driver_sql("PRAGMA table_info(log_entries)").all()
            assert [(r[1], r[2], r[5]) for r in info if r[5]] == [("seq", "INTEGER", 1)]
    finally:
        ledger.close()
