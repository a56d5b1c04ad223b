"""Only ``init`` (and ``serve --init``, ``demo``) create a ledger: every other command run
where there is none fails with exit code 2, says where it looked and how to point at the
right place, and leaves nothing behind (no database file, no signing key)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from api.cli import main
from ledger import Settings
from tests.conftest import backend

#: A command line of every command that opens the ledger, each valid in itself.
COMMANDS = [
    ["recall", "09506000134352/L2311A"],
    ["recall", "09506000134352/L2311A", "--json"],
    ["keys", "list"],
    ["stock", "show", "store-1"],
    ["stock", "report", "value"],
    ["orders", "list"],
    ["replenish", "suggest", "store-1"],
    ["labels", "--lot", "09506000134352/L2311A", "--resolver", "https://id.example", "--out", "-"],
    ["serve", "--port", "1"],
]


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with no ledger in it, and no LOTLEDGER_ variable set."""
    for name in list(os.environ):
        if name.startswith("LOTLEDGER_") and name != "LOTLEDGER_TEST_DATABASE_URL":
            monkeypatch.delenv(name)
    cwd = tmp_path / "somewhere-else"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    return cwd


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_no_command_creates_a_ledger_in_the_default_directory(
    argv: list[str], elsewhere: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    looked = elsewhere / "lotledger-data"
    assert f"no ledger in {looked}" in err
    assert "the default ./lotledger-data, relative to the current directory" in err
    for advice in ("--data-dir", "LOTLEDGER_DATA_DIR", "lotledger init"):
        assert advice in err
    assert "Traceback" not in err
    assert list(elsewhere.iterdir()) == [], "nothing may be created"


def test_a_named_directory_without_a_ledger(
    elsewhere: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = elsewhere / "typo"
    assert main(["recall", "09506000134352/L2311A", "--data-dir", str(empty)]) == 2
    err = capsys.readouterr().err
    assert f"no ledger in {empty} (from --data-dir)" in err
    assert f"there is no database file {empty / 'lotledger.db'}" in err
    assert not empty.exists()

    monkeypatch.setenv("LOTLEDGER_DATA_DIR", str(empty))
    assert main(["orders", "list"]) == 2
    assert f"no ledger in {empty} (from LOTLEDGER_DATA_DIR)" in capsys.readouterr().err
    assert not empty.exists()


def test_init_creates_and_the_others_then_find_it_from_anywhere(
    elsewhere: Path,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = ["--data-dir", str(settings.data_dir), "--database-url", settings.database_url]
    # An empty PostgreSQL schema (or a SQLite file not yet made) is no ledger either.
    assert main(["keys", "list", *db]) == 2
    err = capsys.readouterr().err
    assert "holds no ledger" in err or "there is no database file" in err
    assert not (settings.data_dir / "signing.key").exists()

    assert main(["init", *db]) == 0
    capsys.readouterr()
    assert (settings.data_dir / "signing.key").exists()
    assert main(["keys", "list", *db]) == 0
    assert "operator" in capsys.readouterr().out
    # From the environment, run in another directory.
    monkeypatch.setenv("LOTLEDGER_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("LOTLEDGER_DATABASE_URL", settings.database_url)
    assert main(["keys", "list"]) == 0
    assert "admin" in capsys.readouterr().out
    assert list(elsewhere.iterdir()) == []


def test_a_ledger_whose_signing_key_is_elsewhere_is_not_given_a_new_one(
    elsewhere: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ["--data-dir", str(settings.data_dir), "--database-url", settings.database_url]
    assert main(["init", *db]) == 0
    capsys.readouterr()
    key = settings.data_dir / "signing.key"
    key.rename(elsewhere / "moved.key")
    assert main(["orders", "list", *db]) == 2
    err = capsys.readouterr().err
    assert f"signing key is not at {key}" in err
    assert "LOTLEDGER_SIGNING_KEY_FILE" in err
    assert not key.exists()


@pytest.mark.skipif(backend() != "sqlite", reason="a SQLite file that is not a ledger")
def test_a_file_that_is_not_a_ledger(elsewhere: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = elsewhere / "data"
    data.mkdir()
    (data / "lotledger.db").write_bytes(b"")  # e.g. left by a copy that failed
    assert main(["stock", "report", "value", "--data-dir", str(data)]) == 2
    assert "holds no ledger" in capsys.readouterr().err
    assert (data / "lotledger.db").read_bytes() == b""
