"""A separate OS process that appends to a ledger: ``python -m tests.append_worker``.

Arguments: data_dir database_url prefix batches batch_size. Prints one JSON line
per receipt ("seq leaf_hash event_id"), then "done". With batches = 0 it sends
one batch of batch_size events and prints "begin" first (the crash test kills it).
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

from ledger import Ledger, Settings


def register(lot: str) -> dict[str, object]:
    return {
        "event_id": str(uuid.uuid4()),
        "type": "register",
        "event_time": "2026-11-20T08:00:00Z",
        "location": "farm-field-1",
        "lot": {"gtin": "09506000134352", "lot": lot},
        "quantity": "1",
        "unit": "kg",
        "product": "Romaine lettuce",
    }


def main() -> None:
    data_dir, url, prefix, batches, size = sys.argv[1:6]
    settings = Settings(Path(data_dir), url, "test.lotledger.example/log", None, None)
    ledger = Ledger.open(settings, migrate=False)
    if int(batches) == 0:
        events = [register(f"{prefix}{i}") for i in range(int(size))]
        print("begin", flush=True)
        ledger.append(events, actor="farm")
        print("done", flush=True)
        return
    for b in range(int(batches)):
        result = ledger.append(
            [register(f"{prefix}-{b}-{i}") for i in range(int(size))], actor="farm"
        )
        for r in result.receipts:
            print(json.dumps([r.seq, r.leaf_hash.hex(), r.event_id]), flush=True)
    print("done", flush=True)


if __name__ == "__main__":
    main()
