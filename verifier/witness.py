"""A C2SP tlog-witness (c2sp.org/tlog-witness): cosign only checkpoints that extend.

For each log it is configured with (origin and verifier key), the witness keeps
the size and root of the last checkpoint it cosigned, in a small state file per
origin. ``POST /add-checkpoint`` takes::

    old <size the client believes the witness is at>
    <base64 consistency proof hash, one per line>
    <blank line>
    <the signed checkpoint note>

and answers, in the spec's order of checks:

====== ===============================================================
400    malformed request, or old size above the checkpoint's size
404    unknown log origin
403    the checkpoint is not signed by the log's key (or is malformed)
409    old size is not the witness's size (body: its size, decimal, Content-Type
       ``text/x.tlog.size``), or equal sizes with a different root (a fork)
422    the consistency proof from the witness's checkpoint does not verify
200    the cosignature line(s) (``text/plain``): a ``cosignature/v1`` by the
       witness's key (signature type 0x04) over the checkpoint body
====== ===============================================================

The new state is written (atomically) before the cosignature is returned, so a
witness never cosigns two checkpoints that are inconsistent with each other,
and never a smaller tree after a larger one, across restarts.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from verifier.errors import FormatError, ProofError, VerificationError, WitnessRefusal
from verifier.hashing import EMPTY_ROOT
from verifier.note import (
    Checkpoint,
    SignerKey,
    VerifierKey,
    cosign_checkpoint,
    parse_checkpoint,
    parse_note,
    verify_note,
)
from verifier.proofs import verify_consistency

__all__ = [
    "MAX_BODY",
    "Witness",
    "WitnessState",
    "encode_add_checkpoint",
    "parse_add_checkpoint",
    "serve",
]

MAX_BODY = 1 << 20
MAX_PROOF = 63
SIZE_CONTENT_TYPE = "text/x.tlog.size"


def encode_add_checkpoint(old_size: int, proof: Iterable[bytes], note: str) -> bytes:
    """The request body of ``POST /add-checkpoint``."""
    lines = [f"old {old_size}"] + [binascii.b2a_base64(p, newline=False).decode() for p in proof]
    return ("\n".join(lines) + "\n\n" + note).encode("utf-8")


def parse_add_checkpoint(body: bytes) -> tuple[int, list[bytes], str]:
    """(old size, proof, checkpoint note); ``WitnessRefusal(400)`` if malformed."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WitnessRefusal(400, "the request is not UTF-8") from None
    head, blank, note = text.partition("\n\n")
    if not blank:
        raise WitnessRefusal(400, "the request has no blank line before the checkpoint")
    lines = head.split("\n")
    first = lines[0]
    if not first.startswith("old ") or not first[4:].isdigit() or first[4:] != str(int(first[4:])):
        raise WitnessRefusal(400, "the first line must be 'old <size>'")
    if len(lines) - 1 > MAX_PROOF:
        raise WitnessRefusal(400, f"a consistency proof has at most {MAX_PROOF} hashes")
    proof = []
    for number, line in enumerate(lines[1:], 2):
        try:
            h = binascii.a2b_base64(line.encode("ascii"), strict_mode=True)
        except (binascii.Error, UnicodeEncodeError):
            raise WitnessRefusal(400, f"line {number} is not a base64 hash") from None
        if len(h) != 32:
            raise WitnessRefusal(400, f"line {number} is not a 32-byte hash")
        proof.append(h)
    return int(first[4:]), proof, note


@dataclass(frozen=True, slots=True)
class WitnessState:
    size: int
    root: bytes


class Witness:
    """A witness over a state directory, for the logs whose keys it is given."""

    def __init__(self, state_dir: Path, signer: SignerKey, logs: Iterable[VerifierKey]) -> None:
        self.state_dir = Path(state_dir)
        self.signer = signer
        self.logs = {key.name: key for key in logs}
        self._lock = threading.Lock()

    def _path(self, origin: str) -> Path:
        digest = hashlib.sha256(origin.encode("utf-8")).hexdigest()[:32]
        return self.state_dir / f"{digest}.json"

    def state(self, origin: str) -> WitnessState:
        """The last checkpoint cosigned for ``origin`` (size 0, the empty root, if none)."""
        path = self._path(origin)
        try:
            obj = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return WitnessState(0, EMPTY_ROOT)
        except ValueError as exc:
            raise FormatError(f"{path}: malformed witness state: {exc}") from None
        if obj.get("origin") != origin:
            raise FormatError(f"{path}: state of another log ({obj.get('origin')!r})")
        return WitnessState(int(obj["size"]), bytes.fromhex(obj["root"]))

    def _save(self, origin: str, checkpoint: Checkpoint, note: str) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        data = json.dumps(
            {
                "origin": origin,
                "size": checkpoint.size,
                "root": checkpoint.root_hash.hex(),
                "checkpoint": note,
            },
            indent=1,
        )
        fd, tmp = tempfile.mkstemp(dir=self.state_dir, prefix=".witness-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(data + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self._path(origin))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def add_checkpoint(
        self, old_size: int, proof: list[bytes], note: str, *, now: int | None = None
    ) -> str:
        """Cosign ``note`` if it extends what this witness saw; the cosignature line(s).

        Raises ``WitnessRefusal`` with the tlog-witness status code otherwise.
        """
        try:
            parsed = parse_note(note)
            checkpoint = parse_checkpoint(parsed.text)
        except VerificationError as exc:
            raise WitnessRefusal(403, f"not a checkpoint: {exc}") from None
        key = self.logs.get(checkpoint.origin)
        if key is None:
            raise WitnessRefusal(404, f"unknown log {checkpoint.origin!r}")
        try:
            verify_note(note, [key])
        except VerificationError as exc:
            raise WitnessRefusal(403, f"not signed by the log's key: {exc}") from None
        if old_size > checkpoint.size:
            raise WitnessRefusal(
                400, f"old size {old_size} is above the checkpoint's size {checkpoint.size}"
            )
        with self._lock:
            current = self.state(checkpoint.origin)
            if old_size != current.size:
                raise WitnessRefusal(
                    409, f"the witness is at size {current.size}, not {old_size}", size=current.size
                )
            if checkpoint.size == current.size and checkpoint.root_hash != current.root:
                raise WitnessRefusal(
                    409,
                    f"a different root at size {current.size}: the log forked",
                    size=current.size,
                )
            try:
                verify_consistency(
                    current.size, checkpoint.size, current.root, checkpoint.root_hash, proof
                )
            except ProofError as exc:
                raise WitnessRefusal(
                    422,
                    f"the checkpoint at size {checkpoint.size} is not consistent with the one "
                    f"at size {current.size}: {exc}",
                ) from None
            self._save(checkpoint.origin, checkpoint, note)
        timestamp = int(time.time()) if now is None else now
        return cosign_checkpoint(parsed.text, self.signer, timestamp).line()

    def handle(self, body: bytes) -> tuple[int, str, str]:
        """An HTTP exchange as (status, content type, body)."""
        try:
            old, proof, note = parse_add_checkpoint(body)
            return 200, "text/plain; charset=utf-8", self.add_checkpoint(old, proof, note)
        except WitnessRefusal as refusal:
            if refusal.status == 409 and refusal.size is not None:
                return 409, SIZE_CONTENT_TYPE, f"{refusal.size}\n"
            return refusal.status, "text/plain; charset=utf-8", refusal.reason + "\n"


def _handler(witness: Witness) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "lotledger-witness/1"

        def do_POST(self) -> None:
            if self.path != "/add-checkpoint":
                self._reply(404, "text/plain", "not found\n")
                return
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 < length <= MAX_BODY:
                self._reply(400, "text/plain", "a body of 1 byte to 1 MiB is required\n")
                return
            self._reply(*witness.handle(self.rfile.read(length)))

        def _reply(self, status: int, content_type: str, text: str) -> None:
            data = text.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def serve(witness: Witness, host: str, port: int) -> ThreadingHTTPServer:
    """An HTTP server for ``witness`` (call ``serve_forever`` on it)."""
    return ThreadingHTTPServer((host, port), _handler(witness))
