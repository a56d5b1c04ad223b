"""The log export as an auditor gets it: ``lotledger export [--from N] [--to N]`` and the
streamed ``GET /v1/log/export``, audited offline with ``lotledger-verify`` (the real
commands, as separate processes), whole and in ranges, and the exit codes and words of
every way it can go wrong."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from api.app import create_app
from ledger import Ledger, Settings, write_export
from tests.api_fixtures import ApiClient, Keys, api_keys  # noqa: F401 - fixture
from tests.conftest import Events
from tests.log.test_audit import demo_log, export_bytes, flip_event_byte, set_leaf, unlock
from verifier.export import read_export

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]


def run(tool: str, *args: object, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOTLEDGER_")}
    if home is not None:
        env["HOME"] = str(home)
    return subprocess.run(
        [str(BIN / tool), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )


def lotledger(settings: Settings, *args: object) -> subprocess.CompletedProcess[str]:
    return run(
        "lotledger",
        args[0],
        "--data-dir",
        settings.data_dir,
        "--database-url",
        settings.database_url,
        *args[1:],
    )


@pytest.fixture
def demo(world: Ledger, ev: Events) -> Ledger:
    return demo_log(world, ev)  # 17 entries, checkpoints at 3, 5, 7, 8, 10, 11, 13, 14, 16, 17


def test_lotledger_export_audits_offline_and_says_what_it_wrote(
    demo: Ledger, settings: Settings, tmp_path: Path
) -> None:
    out = tmp_path / "export.jsonl"
    made = lotledger(settings, "export", "--output", out)
    assert made.returncode == 0, made.stderr
    assert f"exported entries 0..16 (17 entries) of log {demo.origin}" in made.stderr
    assert out.read_bytes() == export_bytes(demo)
    # The same through stdout, as the README writes it (`lotledger export > export.jsonl`).
    assert lotledger(settings, "export").stdout.encode() == out.read_bytes()

    key = str(demo.verifier_key)
    checked = run("lotledger-verify", "log", out, "--key", key)
    assert checked.returncode == 0, checked.stderr
    assert f"VERIFIED log {demo.origin}: 17 entries" in checked.stdout
    recall = run("lotledger-verify", "recall", out, "--key", key, "--lot", "09506000134352/L1")
    assert recall.returncode == 0, recall.stderr
    assert "L1" in recall.stdout


def test_a_range_export_continues_the_last_audit(
    demo: Ledger, ev: Events, settings: Settings, tmp_path: Path
) -> None:
    key = str(demo.verifier_key)
    state = tmp_path / "state.json"
    first = tmp_path / "first.jsonl"
    assert lotledger(settings, "export", "--to", 10, "-o", first).returncode == 0
    audited = run("lotledger-verify", "log", first, "--key", key, "--state", state)
    assert audited.returncode == 0, audited.stderr
    assert ": 10 entries" in audited.stdout

    demo.append([ev.register("L7"), ev.register("L8")], actor="farm")  # 19 entries now
    rest = tmp_path / "rest.jsonl"
    made = lotledger(settings, "export", "--from", 10, "-o", rest)
    assert "exported entries 10..18 (9 entries)" in made.stderr
    with rest.open("rb") as fh:
        header, _ = read_export(fh)
    assert (header.start, header.tree_size, len(header.frontier)) == (10, 19, 2)
    again = run("lotledger-verify", "log", rest, "--key", key, "--state", state)
    assert again.returncode == 0, again.stderr
    assert "19 entries" in again.stdout
    assert "9 entries re-hashed and chained" in again.stdout
    assert "consistent with the size 10 audited before" in again.stdout

    # Without the earlier state, the range is checked against the signed roots and the
    # output says what it did not check.
    alone = run("lotledger-verify", "log", rest, "--key", key)
    assert alone.returncode == 0, alone.stderr
    assert "the entries before 10 are not checked by this file" in alone.stdout
    # A recall needs the whole log.
    recall = run("lotledger-verify", "recall", rest, "--key", key, "--lot", "09506000134352/L1")
    assert recall.returncode == 2
    assert "starts at entry 10" in recall.stderr

    # A gap after the last audit is a usage error that says which export to make.
    later = tmp_path / "later.jsonl"
    assert lotledger(settings, "export", "--from", 15, "-o", later).returncode == 0
    state2 = tmp_path / "state2.json"
    assert run("lotledger-verify", "log", first, "--key", key, "--state", state2).returncode == 0
    gap = run("lotledger-verify", "log", later, "--key", key, "--state", state2)
    assert gap.returncode == 2
    assert "export from entry 10 (lotledger export --from 10)" in gap.stderr


def test_a_range_ending_between_checkpoints_gets_one_signed_for_it(
    demo: Ledger, tmp_path: Path
) -> None:
    out = io.BytesIO()
    assert write_export(demo, out, start=4, end=9) == 9  # no batch ended at 4 or 9
    lines = out.getvalue().splitlines()
    assert json.loads(lines[1])["tree_size"] == 4
    assert json.loads(lines[-1])["tree_size"] == 9
    path = tmp_path / "part.jsonl"
    path.write_bytes(out.getvalue())
    checked = run("lotledger-verify", "log", path, "--key", str(demo.verifier_key))
    assert checked.returncode == 0, checked.stderr
    assert "5 entries re-hashed" in checked.stdout


def test_a_changed_entry_in_a_range_export_is_named(demo: Ledger, settings: Settings) -> None:
    unlock(demo)
    leaf = demo.entries(12, 13)[0].leaf_bytes
    changed = flip_event_byte(leaf)
    assert changed != leaf
    set_leaf(demo, 12, changed)
    made = lotledger(settings, "export", "--from", 10)
    path = settings.data_dir.parent / "tampered.jsonl"
    path.write_text(made.stdout)
    checked = run("lotledger-verify", "log", path, "--key", str(demo.verifier_key))
    assert checked.returncode == 1
    assert "entry 12" in checked.stderr
    assert "Error" not in checked.stderr  # words, not class names


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--from", 5, "--to", 3), "--from 5 is after --to 3"),
        (("--to", 99), "--to 99 is beyond the log's latest checkpoint, at size 17"),
        (("--from", -1), "--from and --to must be >= 0"),
    ],
)
def test_a_bad_range_is_refused_in_words(
    demo: Ledger, settings: Settings, args: tuple[object, ...], words: str
) -> None:
    made = lotledger(settings, "export", *args)
    assert made.returncode != 0
    assert words in made.stderr
    assert made.stdout == ""


def test_export_of_a_directory_with_no_ledger_creates_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "nowhere"
    made = run("lotledger", "export", "--data-dir", empty)
    assert made.returncode == 2
    assert "no ledger in" in made.stderr
    assert not empty.exists()


def test_the_streamed_endpoint_is_the_same_export_for_the_auditor_only(
    demo: Ledger,
    api_keys: Keys,  # noqa: F811 - fixture
) -> None:
    client = ApiClient(create_app(demo))
    try:
        whole = client.get("/v1/log/export", key=api_keys.regulator)
        assert whole.status_code == 200
        assert whole.headers["content-type"] == "application/jsonl"
        assert whole.content == export_bytes(demo)
        part = client.get("/v1/log/export?from=5&to=11", key=api_keys.admin)
        expected = io.BytesIO()
        write_export(demo, expected, start=5, end=11)
        assert part.content == expected.getvalue()
        for key in (api_keys.store, api_keys.manager, api_keys.farm):
            assert client.get("/v1/log/export", key=key).status_code == 403
        assert client.get("/v1/log/export").status_code == 401
        bad = client.get("/v1/log/export?from=9&to=2", key=api_keys.regulator)
        assert bad.status_code == 400
        assert bad.headers["content-type"] == "application/problem+json"
        assert "after --to 2" in bad.json()["detail"]
    finally:
        client.close()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"%PDF-1.7 not an export\n", "not JSON"),
        (b'{"format":"lotledger-bundle","version":1}\n', "not a Lotledger export"),
        (b"", "the export is empty"),
    ],
)
def test_the_wrong_kind_of_file_exits_2_in_words(
    demo: Ledger, tmp_path: Path, content: bytes, words: str
) -> None:
    path = tmp_path / "file"
    path.write_bytes(content)
    checked = run("lotledger-verify", "log", path, "--key", str(demo.verifier_key))
    assert checked.returncode == 2
    assert words in checked.stderr
    assert "Error" not in checked.stderr
    missing = run(
        "lotledger-verify", "log", tmp_path / "absent.jsonl", "--key", str(demo.verifier_key)
    )
    assert missing.returncode == 2
    assert "cannot open" in missing.stderr


def test_the_readme_offline_commands_work_on_the_demo(tmp_path: Path) -> None:
    """README "Verifying without trusting the server": export the demo, audit it, recall."""
    data = tmp_path / "lotledger-data"
    demo = run("lotledger", "demo", "--data-dir", data, "--json")
    assert demo.returncode == 0, demo.stderr
    loaded = json.loads(demo.stdout)
    made = run("lotledger", "export", "--data-dir", data, "-o", tmp_path / "export.jsonl")
    assert made.returncode == 0, made.stderr
    key = made.stderr.rsplit("verifier key ", 1)[1].strip()
    audited = run("lotledger-verify", "log", tmp_path / "export.jsonl", "--key", key)
    assert audited.returncode == 0, audited.stderr
    assert f"{loaded['tree_size']} entries" in audited.stdout
    lot = loaded["lots"]["salad"][0]
    recall = run("lotledger-verify", "recall", tmp_path / "export.jsonl", "--key", key,
                 "--lot", f"00012345678905/{lot}", "--direction", "forward", "--json")  # fmt: skip
    assert recall.returncode == 0, recall.stderr
    assert lot in recall.stdout
