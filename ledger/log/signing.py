"""The log's Ed25519 signing key, and the checkpoints it signs.

The key is created on first use in the data directory (``signing.key``, mode
0600, a C2SP signer key string), or loaded from ``LOTLEDGER_SIGNING_KEY_FILE``
or ``LOTLEDGER_SIGNING_KEY`` (the string itself, for secret stores).
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from ledger.config import Settings
from ledger.errors import ConfigurationError
from verifier.errors import KeyFormatError
from verifier.note import Checkpoint, SignerKey, sign_note

KEY_FILE = "signing.key"


def load_or_create_signer(settings: Settings) -> SignerKey:
    """The log's signer key: from the environment, a file, or created on first use."""
    if settings.signing_key:
        return _parse(settings.signing_key, "LOTLEDGER_SIGNING_KEY")
    if settings.signing_key_path:
        return _read(settings.signing_key_path)
    path = settings.data_dir / KEY_FILE
    if path.exists():
        return _read(path)
    signer = SignerKey.generate(settings.origin)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Write a private temporary file, then link it into place: a second process starting at
    # the same moment either wins the link or reads the complete key the first one wrote.
    fd, tmp = tempfile.mkstemp(dir=settings.data_dir, prefix=".signing-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(str(signer) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.link(tmp, path)
    except FileExistsError:
        return _read(path)
    finally:
        os.unlink(tmp)
    return signer


def _read(path: Path) -> SignerKey:
    try:
        mode = path.stat().st_mode
        text = path.read_text().strip()
    except OSError as exc:
        raise ConfigurationError(f"cannot read the signing key {path}: {exc}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigurationError(
            f"the signing key {path} is readable by others (mode {stat.S_IMODE(mode):o}); "
            f"run: chmod 600 {path}"
        )
    return _parse(text, str(path))


def _parse(text: str, source: str) -> SignerKey:
    try:
        return SignerKey.parse(text)
    except KeyFormatError as exc:
        raise ConfigurationError(f"the signing key in {source} is not valid: {exc}") from exc


def sign_checkpoint(signer: SignerKey, size: int, root: bytes) -> str:
    """A C2SP tlog-checkpoint note for (size, root), signed by the log's key."""
    return sign_note(Checkpoint(signer.name, size, root).body(), signer)
