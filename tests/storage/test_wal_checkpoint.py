"""The service's SQLite WAL is checkpointed on a thread of its own, not in writers' commits."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from ledger import Ledger, create_location, create_organisation
from ledger.storage.db import WAL_BACKSTOP_PAGES
from tests.conftest import LETTUCE, make_settings


def _open(directory: Path, *, background: bool) -> tuple[Ledger, Path]:
    path = directory / "ledger.db"
    settings = make_settings(directory, f"sqlite:///{path}")
    if background:
        ledger = Ledger.open(settings, background_checkpoints=True)
    else:  # the same backstop, but no thread: only commits would checkpoint
        ledger = Ledger.open(settings, wal_autocheckpoint=WAL_BACKSTOP_PAGES)
    create_organisation(ledger.engine, "farm", "Green Valley Farm")
    create_location(ledger.engine, "farm-1", org_id="farm", name="Field", kind="farm")
    return ledger, path


def _append_lots(ledger: Ledger, batches: int) -> None:
    for b in range(batches):
        events = [
            {
                "event_id": str(uuid.uuid4()),
                "type": "register",
                "event_time": "2026-11-20T08:00:00+01:00",
                "location": "farm-1",
                "lot": {"gtin": LETTUCE, "lot": f"L{b:03d}-{n:03d}"},
                "quantity": "100",
                "unit": "kg",
                "product": "Romaine lettuce",
                "kind": "harvest",
            }
            for n in range(200)
        ]
        ledger.append(events, actor="farm")


def _grows(path: Path, start: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.stat().st_size > start + 1_000_000:
            return True
        time.sleep(0.05)
    return False


def test_the_checkpointer_copies_committed_pages_into_the_database_file(
    tmp_path: Path,
) -> None:
    # The control: with no thread, commits under the backstop leave every page in the WAL.
    ledger, path = _open(tmp_path / "control", background=False)
    try:
        start = path.stat().st_size
        _append_lots(ledger, 10)
        assert not _grows(path, start, 1.0), "a commit checkpointed below the backstop"
    finally:
        ledger.close()

    ledger, path = _open(tmp_path / "background", background=True)
    try:
        assert ledger.checkpointer is not None
        start = path.stat().st_size
        _append_lots(ledger, 10)
        assert _grows(path, start, 30.0), "no checkpoint reached the database file"
        thread = ledger.checkpointer._thread
    finally:
        ledger.close()
    assert not thread.is_alive()
    assert ledger.checkpointer is None

    # Everything committed is there after a reopen, and the log still proves itself.
    reopened = Ledger.open(make_settings(tmp_path / "background", f"sqlite:///{path}"))
    try:
        assert reopened.size() == 2000
        assert reopened.latest_checkpoint()[0] == 2000
    finally:
        reopened.close()


def test_no_checkpointer_where_there_is_no_wal(tmp_path: Path, database_url: str) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL only: a SQLite file always has its WAL")
    ledger = Ledger.open(make_settings(tmp_path, database_url), background_checkpoints=True)
    try:
        assert ledger.checkpointer is None
    finally:
        ledger.close()
