"""The log's signing key: created once with mode 0600, reused, or supplied."""

from __future__ import annotations

import dataclasses
import os
import stat

import pytest

from ledger import ConfigurationError, Settings
from ledger.log.signing import load_or_create_signer
from verifier.note import SignerKey


def test_key_created_on_first_use_with_mode_0600_and_reused(settings: Settings) -> None:
    first = load_or_create_signer(settings)
    path = settings.data_dir / "signing.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.name == settings.origin
    assert str(load_or_create_signer(settings)) == str(first)


def test_key_readable_by_others_is_refused(settings: Settings) -> None:
    load_or_create_signer(settings)
    os.chmod(settings.data_dir / "signing.key", 0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        load_or_create_signer(settings)


def test_key_from_environment_string_and_file(
    settings: Settings, tmp_path: os.PathLike[str]
) -> None:
    key = SignerKey.generate("example.org/ledger")
    from_env = load_or_create_signer(dataclasses.replace(settings, signing_key=str(key)))
    assert str(from_env.verifier_key()) == str(key.verifier_key())
    assert not (settings.data_dir / "signing.key").exists()

    path = settings.data_dir.parent / "elsewhere.key"
    path.write_text(str(key) + "\n")
    path.chmod(0o600)
    from_file = load_or_create_signer(dataclasses.replace(settings, signing_key_path=path))
    assert str(from_file) == str(key)

    with pytest.raises(ConfigurationError, match="not valid"):
        load_or_create_signer(dataclasses.replace(settings, signing_key="PRIVATE+KEY+bad"))
