"""``lotledger-verify``: outputs and exit codes (0 verified, 1 failed, 2 usage)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ledger import Ledger
from ledger.log.export import build_bundle
from tests.conftest import SALAD, Events
from tests.log.test_audit import demo_log, export_bytes, tamper_byte, unlock
from tests.log.test_bundle import SALAD_SEQS
from verifier.cli import main


@pytest.fixture
def demo(world: Ledger, ev: Events) -> Ledger:
    return demo_log(world, ev)


REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def files(demo: Ledger, tmp_path: Path) -> dict[str, Path]:
    paths = {
        "bundle": tmp_path / "bundle.json",
        "export": tmp_path / "export.jsonl",
        "key": tmp_path / "log.pub",
    }
    paths["bundle"].write_text(json.dumps(build_bundle(demo, SALAD_SEQS, (SALAD, "S1"))))
    paths["export"].write_bytes(export_bytes(demo))
    paths["key"].write_text(str(demo.verifier_key) + "\n")
    return paths


def test_bundle_ok(
    files: dict[str, Path], demo: Ledger, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bundle", str(files["bundle"]), "--key", str(demo.verifier_key)]) == 0
    out = capsys.readouterr().out
    assert f"Provenance of lot {SALAD}/S1" in out
    assert out.count("[verified]") == len(SALAD_SEQS)
    assert out.rstrip().endswith("VERIFIED")


def test_bundle_tampered_fails_naming_entry(
    files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.loads(files["bundle"].read_text())
    data["entries"][2]["leaf"] = data["entries"][4]["leaf"]
    files["bundle"].write_text(json.dumps(data))
    assert main(["bundle", str(files["bundle"]), "--key", str(files["key"])]) == 1
    err = capsys.readouterr().err
    assert err.startswith("FAILED")
    assert "entries[2]" in err


def test_log_export_ok_then_tampered(
    files: dict[str, Path], demo: Ledger, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state.json"
    args = ["log", str(files["export"]), "--key", str(files["key"]), "--state", str(state)]
    assert main(args) == 0
    assert "VERIFIED log test.lotledger.example/log: 17 entries" in capsys.readouterr().out
    unlock(demo)
    tamper_byte(demo)
    files["export"].write_bytes(export_bytes(demo))
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "entry 5: hash chain" in err
    assert "expected" in err
    assert "found" in err


def test_recall_json(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    args = ["recall", str(files["export"]), "--key", str(files["key"]),
            "--lot", f"{SALAD}/S1", "--direction", "backward", "--json"]  # fmt: skip
    assert main(args) == 0
    answer = json.loads(capsys.readouterr().out)
    assert len(answer["lots"]) == 3
    assert answer["direction"] == "backward"


def test_usage_errors_exit_2(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bundle", str(files["bundle"]), "--key", "garbage+key"]) == 2
    assert main(["log", "/nonexistent/file", "--key", str(files["key"])]) == 2
    assert main(["frobnicate"]) == 2


def test_console_script_runs_in_a_fresh_interpreter(files: dict[str, Path]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from verifier.cli import main; sys.exit(main())",
         "log", str(files["export"]), "--key", str(files["key"]), "--quiet"],
        capture_output=True, text=True, cwd=REPO, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "VERIFIED" in result.stdout
