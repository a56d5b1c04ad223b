"""The log endpoints' wire formats (``verifier/wire.py``): one definition that the server's
answers, its OpenAPI document and the verifier's parsers are all held to, checked against a
real ``lotledger serve`` process."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import jsonschema_rs
import pytest

from api.app import create_app
from ledger import Ledger, Settings
from tests.api_fixtures import make_keys, serve
from tests.conftest import Events
from verifier import wire
from verifier.errors import FormatError
from verifier.hashing import leaf_hash
from verifier.note import verify_checkpoint
from verifier.proofs import verify_consistency, verify_inclusion

ENDPOINTS = {
    "/v1/log/entries": wire.ENTRIES_PAGE_SCHEMA,
    "/v1/log/proof/inclusion": wire.INCLUSION_PROOF_SCHEMA,
    "/v1/log/proof/consistency": wire.CONSISTENCY_PROOF_SCHEMA,
}


@pytest.fixture
def grown(world: Ledger, ev: Events) -> Ledger:
    """Seven entries in three batches."""
    world.append([ev.register(f"W{i}") for i in range(3)], actor="farm")
    world.append([ev.register(f"W{i}") for i in range(3, 5)], actor="farm")
    world.append([ev.register(f"W{i}") for i in range(5, 7)], actor="farm")
    return world


@pytest.fixture
def served(grown: Ledger, settings: Settings) -> Iterator[str]:
    yield from serve(settings, workers=1)


def valid(schema: dict[str, Any], raw: bytes) -> bool:
    return bool(jsonschema_rs.validator_for(schema).is_valid(json.loads(raw)))


def test_the_openapi_document_publishes_the_wire_schemas(grown: Ledger) -> None:
    spec = create_app(grown).openapi()
    for path, schema in ENDPOINTS.items():
        content = spec["paths"][path]["get"]["responses"]["200"]["content"]
        assert content["application/json"]["schema"] == schema, path
    export = spec["paths"]["/v1/log/export"]["get"]
    assert "application/jsonl" in export["responses"]["200"]["content"]
    assert [p["name"] for p in export["parameters"]] == ["from", "to"]


def test_a_real_server_answers_in_the_wire_format(grown: Ledger, served: str) -> None:
    key = grown.verifier_key
    regulator = {"Authorization": f"Bearer {make_keys(grown).regulator}"}
    assert httpx.get(f"{served}/v1/log/key").text.strip() == str(key)
    checkpoint = verify_checkpoint(httpx.get(f"{served}/v1/log/checkpoint").text, key)
    assert checkpoint.size == 7

    raw = httpx.get(
        f"{served}/v1/log/entries", params={"start": 2, "end": 6}, headers=regulator
    ).content
    assert valid(wire.ENTRIES_PAGE_SCHEMA, raw)
    page = wire.parse_entries_page(raw, 2, 6)
    stored = grown.entries(2, 6)
    assert page.tree_size == 7
    assert page.entries == [(e.seq, e.leaf_bytes) for e in stored]

    raw = httpx.get(f"{served}/v1/log/proof/inclusion", params={"index": 4, "size": 7}).content
    assert valid(wire.INCLUSION_PROOF_SCHEMA, raw)
    proof = wire.parse_inclusion_proof(raw, 4, 7)
    verify_inclusion(4, 7, leaf_hash(stored[2].leaf_bytes), proof, checkpoint.root_hash)

    raw = httpx.get(f"{served}/v1/log/proof/consistency", params={"first": 3, "second": 7}).content
    assert valid(wire.CONSISTENCY_PROOF_SCHEMA, raw)
    proof = wire.parse_consistency_proof(raw, 3, 7)
    old = verify_checkpoint(httpx.get(f"{served}/v1/log/checkpoint", params={"size": 3}).text, key)
    verify_consistency(3, 7, old.root_hash, checkpoint.root_hash, proof)


HASH = base64.b64encode(bytes(32)).decode()
LEAF = base64.b64encode(b'{"actor":"x"}').decode()
GOOD_PAGE = {"entries": [{"seq": 3, "leaf": LEAF}], "tree_size": 9}
GOOD_PROOF = {"first": 3, "second": 9, "hashes": [HASH, HASH]}

Mutation = Callable[[dict[str, Any]], None]
PAGE_MUTATIONS: dict[str, Mutation] = {
    "the start/end format of the old README": lambda o: o.update(start=3, end=4),
    "tree_size missing": lambda o: o.pop("tree_size"),
    "tree_size negative": lambda o: o.update(tree_size=-1),
    "tree_size below the entries": lambda o: o.update(tree_size=3),
    "no entries": lambda o: o.update(entries=[]),
    "more entries than asked": lambda o: o["entries"].append({"seq": 4, "leaf": LEAF}),
    "seq a string": lambda o: o["entries"][0].update(seq="3"),
    "leaf not base64": lambda o: o["entries"][0].update(leaf="not base64!"),
    "an extra field in an entry": lambda o: o["entries"][0].update(hash=HASH),
    "entries not a list": lambda o: o.update(entries={"seq": 3}),
}
PROOF_MUTATIONS: dict[str, Mutation] = {
    "the client's old 'proof' field": lambda o: o.update(proof=o.pop("hashes")),
    "sizes other than asked": lambda o: o.update(second=8),
    "a hash of 31 bytes": lambda o: o["hashes"].append(base64.b64encode(bytes(31)).decode()),
    "a hash not base64": lambda o: o["hashes"].append("%%%"),
    "hashes not a list": lambda o: o.update(hashes=HASH),
    "first a float": lambda o: o.update(first=3.0),
}


def test_the_good_examples_are_valid() -> None:
    assert valid(wire.ENTRIES_PAGE_SCHEMA, json.dumps(GOOD_PAGE).encode())
    assert wire.parse_entries_page(json.dumps(GOOD_PAGE).encode(), 3, 4).entries[0][0] == 3
    assert valid(wire.CONSISTENCY_PROOF_SCHEMA, json.dumps(GOOD_PROOF).encode())
    assert wire.parse_consistency_proof(json.dumps(GOOD_PROOF).encode(), 3, 9) == [bytes(32)] * 2


@pytest.mark.parametrize("mutation", PAGE_MUTATIONS.values(), ids=PAGE_MUTATIONS.keys())
def test_a_malformed_page_is_refused_in_words(mutation: Mutation) -> None:
    obj = json.loads(json.dumps(GOOD_PAGE))
    mutation(obj)
    with pytest.raises(FormatError, match=r"entries page \[3, 4\)"):
        wire.parse_entries_page(json.dumps(obj).encode(), 3, 4)


@pytest.mark.parametrize("mutation", PROOF_MUTATIONS.values(), ids=PROOF_MUTATIONS.keys())
def test_a_malformed_consistency_proof_is_refused(mutation: Mutation) -> None:
    obj = json.loads(json.dumps(GOOD_PROOF))
    mutation(obj)
    raw = json.dumps(obj).encode()
    with pytest.raises(FormatError, match="consistency proof from size 3 to 9"):
        wire.parse_consistency_proof(raw, 3, 9)


def test_encoders_and_schemas_agree_on_sizes_and_hashes() -> None:
    h = [bytes(range(32)), bytes(32)]
    for raw, schema in [
        (wire.encode_entries_page([(0, b"{}"), (1, b"[]")], 2), wire.ENTRIES_PAGE_SCHEMA),
        (wire.encode_inclusion_proof(1, 2, h[:1]), wire.INCLUSION_PROOF_SCHEMA),
        (wire.encode_consistency_proof(1, 5, h), wire.CONSISTENCY_PROOF_SCHEMA),
    ]:
        assert valid(schema, raw)
    assert wire.parse_inclusion_proof(wire.encode_inclusion_proof(1, 2, h[:1]), 1, 2) == h[:1]
    with pytest.raises(FormatError, match="entry 0 in size 3"):
        wire.parse_inclusion_proof(wire.encode_inclusion_proof(1, 2, h[:1]), 0, 3)
    assert not valid(wire.INCLUSION_PROOF_SCHEMA, b'{"index":1,"tree_size":2,"hashes":["AA=="]}')
