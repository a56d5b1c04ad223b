"""Event ids the service makes: UUIDv7, in time order, unique."""

from __future__ import annotations

import time
import uuid

from pydantic import TypeAdapter

from ledger.events.models import EventId
from ledger.ids import new_event_id


def test_new_event_ids_are_version_7_uuids_in_time_order() -> None:
    before = time.time_ns() // 1_000_000
    first = new_event_id()
    time.sleep(0.002)
    ids = [new_event_id() for _ in range(1000)]
    after = time.time_ns() // 1_000_000
    parsed = uuid.UUID(first)
    assert parsed.version == 7
    assert parsed.variant == uuid.RFC_4122
    assert TypeAdapter(EventId).validate_python(first) == first  # the form events carry
    assert before <= parsed.int >> 80 <= after
    # Ids made a millisecond or more apart sort in the order they were made.
    assert all(first < later for later in ids)
    assert len(set(ids)) == len(ids)
    assert len({i[-12:] for i in ids}) == len(ids)  # the random bits vary
