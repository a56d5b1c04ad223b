"""The answer to ``POST /v1/events`` is formatted receipt by receipt, not by ``json.dumps``
of a dict: it must be the very bytes ``json.dumps`` would give."""

from __future__ import annotations

import base64
import json

from api.routers.events import encode_append_result
from ledger import AppendResult, Receipt


def test_the_append_answer_is_exactly_what_json_dumps_gives() -> None:
    receipts = [
        Receipt(0, "0f8e2f7c-3b1a-4c5d-9e6f-7a8b9c0d1e2f", 41, bytes(range(32))),
        Receipt(1, 'c4\u00e9"\\\n\U0001f600', 2**53 + 7, b"\xff" * 32, duplicate=True),
        Receipt(12, "", 0, bytes(32)),
    ]
    result = AppendResult(receipts, 2**40, b"\x01" * 32, "log.example/x\n3\nAAA=\n\n\u2014 k sig\n")
    expected = json.dumps(
        {
            "receipts": [
                {
                    "index": r.index,
                    "event_id": r.event_id,
                    "seq": r.seq,
                    "leaf_hash": r.leaf_hash.hex(),
                    "duplicate": r.duplicate,
                }
                for r in receipts
            ],
            "tree_size": result.tree_size,
            "root_hash": base64.b64encode(result.root_hash).decode(),
            "checkpoint": result.checkpoint,
        },
        separators=(",", ":"),
    ).encode()
    assert encode_append_result(result) == expected
    assert json.loads(encode_append_result(result))["receipts"][1]["duplicate"] is True
    empty = AppendResult([], 0, bytes(32), "n")
    assert (
        encode_append_result(empty)
        == json.dumps(
            {
                "receipts": [],
                "tree_size": 0,
                "root_hash": base64.b64encode(bytes(32)).decode(),
                "checkpoint": "n",
            },
            separators=(",", ":"),
        ).encode()
    )
