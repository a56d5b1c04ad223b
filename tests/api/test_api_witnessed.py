"""A service configured with a witness serves checkpoints carrying its cosignature."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from api.app import create_app
from ledger import Ledger
from tests.api_fixtures import ApiClient
from tests.conftest import Events
from tests.log.test_witness import served, witness, witness_key  # noqa: F401 - fixtures
from verifier.note import SignerKey, verify_checkpoint, verify_cosignature


def test_public_checkpoint_carries_the_witness_cosignature(
    served: str,  # noqa: F811 - the fixture imported above
    witness_key: SignerKey,  # noqa: F811
    world: Ledger,
    ev: Events,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("LOTLEDGER_WITNESSES", f"{served} {witness_key.verifier_key()}")
    monkeypatch.setenv("LOTLEDGER_WITNESS_INTERVAL", "0.2")
    world.append([ev.register("W1"), ev.register("W2")], actor="farm")
    app = create_app(world)
    client = ApiClient(app)

    async def run_lifespan() -> str:
        async with app.router.lifespan_context(app):
            deadline = time.monotonic() + 30
            while True:
                note = (await client._client.get("/v1/log/checkpoint")).text
                if note.count("\n— ") >= 2 or time.monotonic() > deadline:
                    return note
                await asyncio.sleep(0.1)

    try:
        note = client._runner.run(run_lifespan())
    finally:
        client.close()
    checkpoint = verify_checkpoint(note, world.verifier_key)
    assert checkpoint.size == 2
    assert verify_cosignature(note, witness_key.verifier_key()) > 0
    assert f"— {witness_key.name} " in note
