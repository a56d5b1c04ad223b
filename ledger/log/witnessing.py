"""The service side of witnessing: get the log's checkpoints cosigned (c2sp.org/tlog-witness).

Witnesses are configured with ``LOTLEDGER_WITNESSES``: ``URL KEY`` pairs separated
by ``;`` (``KEY`` is the witness's cosignature/v1 verifier key). ``witness_checkpoint``
sends the latest checkpoint to one witness with a consistency proof from the
size that witness last cosigned (on ``409 Conflict`` it retries from the size the
witness reports), checks the returned cosignature and stores it;
``cosigned_checkpoint`` is the latest checkpoint note with every stored
cosignature for it appended, what ``GET /v1/log/checkpoint`` serves.
"""

from __future__ import annotations

import os
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import BigInteger, Column, MetaData, String, Table, Text, func, insert, select

from ledger.errors import ConfigurationError, LedgerError
from ledger.log.service import Ledger
from ledger.storage.db import read_transaction, write_transaction
from verifier.errors import VerificationError
from verifier.note import (
    COSIGNATURE_ALGORITHMS,
    Signature,
    VerifierKey,
    add_signatures,
    parse_note,
    verify_cosignature,
)
from verifier.witness import encode_add_checkpoint

__all__ = [
    "WitnessConfig",
    "WitnessingError",
    "cosigned_checkpoint",
    "load_witnesses",
    "witness_all",
    "witness_checkpoint",
]

_metadata = MetaData()
cosignatures = Table(
    "log_cosignatures",
    _metadata,
    Column("tree_size", BigInteger, primary_key=True, autoincrement=False),
    Column("witness", String(300), primary_key=True),
    Column("line", Text, nullable=False),
    Column("timestamp", BigInteger, nullable=False),
)

Post = Callable[[str, bytes], tuple[int, str]]
MAX_ATTEMPTS = 3


class WitnessingError(LedgerError):
    """A witness refused the log's checkpoint, or could not be reached."""

    def __init__(self, witness: str, status: int | None, message: str) -> None:
        super().__init__(f"witness {witness}: {status or 'unreachable'}: {message}")
        self.witness = witness
        self.status = status


@dataclass(frozen=True, slots=True)
class WitnessConfig:
    url: str
    key: VerifierKey

    @property
    def ident(self) -> str:
        return f"{self.key.name}+{self.key.key_id.hex()}"


def load_witnesses(text: str | None = None) -> list[WitnessConfig]:
    """Parse ``URL KEY; URL KEY`` (default: ``LOTLEDGER_WITNESSES``)."""
    if text is None:
        text = os.environ.get("LOTLEDGER_WITNESSES", "")
    witnesses = []
    for item in filter(None, (part.strip() for part in text.split(";"))):
        parts = item.split()
        if len(parts) != 2 or not parts[0].startswith(("http://", "https://")):
            raise ConfigurationError(f"LOTLEDGER_WITNESSES: {item!r} is not 'URL KEY'")
        try:
            key = VerifierKey.parse(parts[1])
        except VerificationError as exc:
            raise ConfigurationError(f"LOTLEDGER_WITNESSES: {exc}") from exc
        if key.algorithm not in COSIGNATURE_ALGORITHMS:  # Ed25519 or ML-DSA-44 witnesses
            raise ConfigurationError(f"LOTLEDGER_WITNESSES: {key.name} is not a cosigner key")
        witnesses.append(WitnessConfig(parts[0].rstrip("/"), key))
    return witnesses


def _post(url: str, body: bytes) -> tuple[int, str]:
    request = urllib.request.Request(  # noqa: S310 - URLs come from configuration, http(s) only
        url, data=body, method="POST", headers={"Content-Type": "text/plain"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return int(response.status), response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode("utf-8", "replace")


def last_cosigned_size(ledger: Ledger, witness: WitnessConfig) -> int:
    with read_transaction(ledger.engine) as conn:
        size = conn.execute(
            select(func.max(cosignatures.c.tree_size)).where(
                cosignatures.c.witness == witness.ident
            )
        ).scalar_one_or_none()
    return int(size or 0)


def witness_checkpoint(ledger: Ledger, witness: WitnessConfig, *, post: Post = _post) -> int:
    """Have ``witness`` cosign the latest checkpoint; store the cosignature; its size."""
    size, _root, note = ledger.latest_checkpoint()
    old = min(last_cosigned_size(ledger, witness), size)
    for _attempt in range(MAX_ATTEMPTS):
        proof = ledger.consistency_proof(old, size) if 0 < old < size else []
        status, body = post(
            f"{witness.url}/add-checkpoint", encode_add_checkpoint(old, proof, note)
        )
        if status == 409 and body.strip().isdigit():
            reported = int(body.strip())
            if reported > size:
                raise WitnessingError(
                    witness.ident, 409, f"the witness is at size {reported}, beyond ours ({size})"
                )
            old = reported
            continue
        if status != 200:
            raise WitnessingError(witness.ident, status, body.strip())
        line = _check_cosignature(note, body, witness)
        timestamp = verify_cosignature(add_signatures(note, *_signatures(note, line)), witness.key)
        with write_transaction(ledger.engine) as conn:
            exists = conn.execute(
                select(cosignatures.c.tree_size).where(
                    cosignatures.c.tree_size == size, cosignatures.c.witness == witness.ident
                )
            ).first()
            if exists is None:
                conn.execute(
                    insert(cosignatures).values(
                        tree_size=size, witness=witness.ident, line=line, timestamp=timestamp
                    )
                )
        return size
    raise WitnessingError(
        witness.ident, 409, f"no agreement on the old size in {MAX_ATTEMPTS} tries"
    )


def _signatures(note: str, lines: str) -> list[Signature]:
    text = parse_note(note).text
    return list(parse_note(text + "\n" + lines).signatures)


def _check_cosignature(note: str, body: str, witness: WitnessConfig) -> str:
    """The one line of ``body`` by ``witness``'s key, checked."""
    try:
        for signature in _signatures(note, body):
            if signature.is_by(witness.key):
                line = signature.line()
                verify_cosignature(add_signatures(note, signature), witness.key)
                return line
    except VerificationError as exc:
        raise WitnessingError(witness.ident, 200, f"bad cosignature: {exc}") from exc
    raise WitnessingError(witness.ident, 200, "the response holds no cosignature by its key")


def witness_all(
    ledger: Ledger, witnesses: list[WitnessConfig], *, post: Post = _post
) -> dict[str, int | str]:
    """Try every witness; per witness, the size cosigned or the error's text."""
    results: dict[str, int | str] = {}
    for witness in witnesses:
        try:
            results[witness.ident] = witness_checkpoint(ledger, witness, post=post)
        except (WitnessingError, VerificationError, OSError) as exc:
            results[witness.ident] = str(exc)
    return results


def cosigned_checkpoint(ledger: Ledger) -> str:
    """The latest checkpoint note with the stored witness cosignatures appended."""
    with read_transaction(ledger.engine) as conn:  # one snapshot: the note and its cosignatures
        size, _root, note = ledger.latest_in(conn)
        lines = [
            str(row[0])
            for row in conn.execute(
                select(cosignatures.c.line)
                .where(cosignatures.c.tree_size == size)
                .order_by(cosignatures.c.witness)
            )
        ]
    if not lines:
        return note
    return add_signatures(note, *_signatures(note, "".join(lines)))


class WitnessLoop:
    """Asks the configured witnesses to cosign the latest checkpoint, every ``interval`` s.

    Runs on a daemon thread beside the service; a witness that is down or refuses is
    tried again next round (what each round got is in ``last``).
    """

    def __init__(self, ledger: Ledger, witnesses: list[WitnessConfig], interval: float) -> None:
        self.ledger = ledger
        self.witnesses = witnesses
        self.interval = interval
        self.last: dict[str, int | str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lotledger-witness", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.interval + 5)

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.ledger.size() > 0:
                self.last = witness_all(self.ledger, self.witnesses)
            self._stop.wait(self.interval)
