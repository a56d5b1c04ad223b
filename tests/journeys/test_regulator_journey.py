"""The regulator's journey end to end, as a newcomer meets it: two deployments, each made by
``lotledger init`` on a fresh data directory and served by a real ``lotledger serve``;
``lotledger-verify`` run as its own process with one home directory (one trust state) for
both. Nothing is mocked; the one thing done behind the service's back is the attacker's
change of an old entry (the append-only triggers dropped first, as database access allows).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from ledger import Settings
from ledger.config import default_origin, normalize_url
from tests.api_fixtures import serve
from tests.conftest import Events, fresh_database, make_settings
from tests.log.test_audit import flip_event_byte
from verifier.note import SignerKey

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
HOST_ORIGIN = default_origin()


def run(
    home: Path, tool: str, *args: object, api_key: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``tool`` with ``home`` as HOME; ``api_key`` in ``LOTLEDGER_API_KEY`` when given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOTLEDGER_")}
    env["HOME"] = str(home)
    if api_key is not None:
        env["LOTLEDGER_API_KEY"] = api_key
    return subprocess.run(
        [str(BIN / tool), *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=180,
        check=False,
    )


def init(home: Path, settings: Settings, *extra: object) -> dict[str, str]:
    made = run(home, "lotledger", "init", "--data-dir", settings.data_dir,
               "--database-url", settings.database_url, "--json", *extra)  # fmt: skip
    assert made.returncode == 0, made.stderr
    return json.loads(made.stdout)  # type: ignore[no-any-return]


def supplier_key(base: str, admin: str) -> str:
    """A farm with a field and a supplier key, made over HTTP by the operator's admin key."""
    auth = {"Authorization": f"Bearer {admin}"}
    org = {"id": "farm", "name": "Green Valley Farm"}
    assert httpx.post(f"{base}/v1/organisations", json=org, headers=auth).status_code == 201
    field = {"id": "farm-field-1", "org_id": "farm", "name": "Field 1", "kind": "farm"}
    assert httpx.post(f"{base}/v1/locations", json=field, headers=auth).status_code == 201
    made = httpx.post(f"{base}/v1/keys", json={"org_id": "farm", "role": "supplier"}, headers=auth)
    assert made.status_code == 201, made.text
    return str(made.json()["secret"])


def regulator_key(base: str, admin: str) -> str:
    """A food agency and its regulator's key (the auditor role), made by the operator."""
    auth = {"Authorization": f"Bearer {admin}"}
    org = {"id": "agency", "name": "Food Safety Agency"}
    assert httpx.post(f"{base}/v1/organisations", json=org, headers=auth).status_code == 201
    body = {"org_id": "agency", "role": "regulator"}
    made = httpx.post(f"{base}/v1/keys", json=body, headers=auth)
    assert made.status_code == 201, made.text
    return str(made.json()["secret"])


def register(base: str, key: str, lots: list[str]) -> int:
    ev = Events()
    body = {"events": [ev.register(lot) for lot in lots]}
    answer = httpx.post(f"{base}/v1/events", json=body, headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 201, answer.text
    return int(answer.json()["tree_size"])


def change_entry(settings: Settings, seq: int) -> None:
    """The attacker: triggers off, one byte of entry ``seq``'s event changed in place."""
    engine = create_engine(normalize_url(settings.database_url))
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "sqlite":
                conn.execute(text("DROP TRIGGER IF EXISTS log_entries_no_update"))
            else:
                conn.execute(text("ALTER TABLE log_entries DISABLE TRIGGER USER"))
            leaf = conn.execute(
                text("SELECT leaf_bytes FROM log_entries WHERE seq = :s"), {"s": seq}
            ).scalar_one()
            conn.execute(
                text("UPDATE log_entries SET leaf_bytes = :b WHERE seq = :s"),
                {"b": flip_event_byte(bytes(leaf)), "s": seq},
            )
    finally:
        engine.dispose()


def test_regulator_audits_repeatedly_catches_a_changed_entry_and_a_second_deployment(
    tmp_path: Path, database_url: str
) -> None:
    home = tmp_path / "regulator"
    home.mkdir()
    one = make_settings(tmp_path / "one", database_url)
    first = init(home, one)  # the origin comes from this host's name
    assert first["origin"] == HOST_ORIGIN
    key = first["verifier_key"]
    assert key.startswith(f"{HOST_ORIGIN}+")

    for base in serve(one, workers=1):
        assert httpx.get(f"{base}/v1/log/key").text.strip() == key
        farm = supplier_key(base, first["admin_key"])
        register(base, farm, [f"A{i}" for i in range(12)])

        regulator = regulator_key(base, first["admin_key"])

        # Without an API key: what anyone may check, the signed checkpoint, and a plain
        # word that the entries were not audited (exit 2).
        keyless = run(home, "lotledger-verify", "log", base, "--key", key)
        assert keyless.returncode == 2, keyless.stdout + keyless.stderr
        assert f"CHECKPOINT ONLY log {HOST_ORIGIN}: 12 entries" in keyless.stdout
        assert "signature verified; no earlier audit to compare with" in keyless.stdout
        assert "the entries were not audited" in keyless.stderr
        assert "--api-key KEY or set LOTLEDGER_API_KEY" in keyless.stderr
        # A supplier's key is not an auditor's: the server's refusal, in its words.
        supplier = run(home, "lotledger-verify", "log", base, "--key", key, "--api-key", farm)
        assert supplier.returncode == 2
        assert "403" in supplier.stderr
        assert "regulator (auditor) or admin API key" in supplier.stderr
        assert farm not in supplier.stdout + supplier.stderr

        audit = run(home, "lotledger-verify", "log", base, "--key", key, "--api-key", regulator)
        assert audit.returncode == 0, audit.stderr
        assert f"VERIFIED log {HOST_ORIGIN}: 12 entries" in audit.stdout
        assert regulator not in audit.stdout + audit.stderr
        kid = key.split("+")[1]
        saved = home / ".lotledger-verify" / f"{HOST_ORIGIN.replace('/', '_')}+{kid}.json"
        assert saved.exists()

        # More events; the keyless check sees the log still extends what was audited ...
        register(base, farm, ["B1", "B2", "B3"])
        keyless = run(home, "lotledger-verify", "log", base, "--key", key)
        assert keyless.returncode == 2
        assert "15 entries" in keyless.stdout
        assert "consistent with the size 12 audited before" in keyless.stdout
        # ... and the repeat audit (the key from the environment this time) checks
        # consistency and fetches only the new entries.
        again = run(home, "lotledger-verify", "log", base, "--key", key, api_key=regulator)
        assert again.returncode == 0, again.stderr
        assert "15 entries" in again.stdout
        assert "3 entries re-hashed and chained" in again.stdout
        assert "consistent with the size 12 audited before" in again.stdout

        # An old, already-audited entry is changed behind the service.
        change_entry(one, 4)
        register(base, farm, ["C1"])
        # A plain repeat audit checks only what is new: it cannot see the change (the
        # README says so) ...
        plain = run(home, "lotledger-verify", "log", base, "--key", key, api_key=regulator)
        assert plain.returncode == 0, plain.stderr
        assert "1 entries re-hashed" in plain.stdout
        # ... a recheck of a sample (here as large as the log: every entry) catches it.
        register(base, farm, ["C2"])
        recheck = run(home, "lotledger-verify", "log", base, "--key", key, "--recheck", 100,
                      api_key=regulator)  # fmt: skip
        assert recheck.returncode == 1, recheck.stdout + recheck.stderr
        assert "entry 4 was changed after it was audited" in recheck.stderr
        assert "Error" not in recheck.stderr
        full = run(home, "lotledger-verify", "log", base, "--key", key, "--full", api_key=regulator)
        assert full.returncode == 1
        assert "entry 4" in full.stderr
        assert "hash chain" in full.stderr

    # The same regulator, the same home, a second deployment with its own origin.
    (tmp_path / "two-db").mkdir()
    with fresh_database(tmp_path / "two-db") as url:
        two = make_settings(tmp_path / "two", url)
        second = init(home, two, "--origin", "ledger.second.example/log")
        assert second["origin"] == "ledger.second.example/log"
        other_key = second["verifier_key"]
        for base in serve(two, workers=1):
            farm = supplier_key(base, second["admin_key"])
            register(base, farm, ["X1", "X2"])
            # Pointed at the second service with the first one's key: a message that
            # names both logs and keys and says what to do, exit 2 (not tampering).
            auditor = regulator_key(base, second["admin_key"])
            wrong = run(home, "lotledger-verify", "log", base, "--key", key, api_key=auditor)
            assert wrong.returncode == 2
            assert "ledger.second.example/log" in wrong.stderr
            assert HOST_ORIGIN in wrong.stderr
            assert other_key.split("+")[1] in wrong.stderr
            assert "--key" in wrong.stderr
            audit = run(home, "lotledger-verify", "log", base, "--key", other_key,
                        "--api-key", second["admin_key"])  # fmt: skip
            assert audit.returncode == 0, audit.stderr
            assert "VERIFIED log ledger.second.example/log: 2 entries" in audit.stdout
        states = sorted(p.name for p in (home / ".lotledger-verify").iterdir())
        assert len(states) == 2
        assert states[0].startswith("ledger.second.example_log+")


def test_init_keeps_an_origin_for_life_and_refuses_a_bad_one(
    tmp_path: Path, settings: Settings
) -> None:
    home = tmp_path
    made = init(home, settings, "--origin", "ledger.one.example/log")
    assert made["verifier_key"].startswith("ledger.one.example/log+")
    again = run(home, "lotledger", "init", "--data-dir", settings.data_dir,
                "--database-url", settings.database_url,
                "--origin", "other.example/log")  # fmt: skip
    assert again.returncode == 1
    assert "already names the log 'ledger.one.example/log'" in again.stderr
    fresh = make_settings(tmp_path / "fresh", settings.database_url.replace("ledger.db", "f.db"))
    bad = run(home, "lotledger", "init", "--data-dir", fresh.data_dir,
              "--database-url", fresh.database_url, "--origin", "has space/log")  # fmt: skip
    assert bad.returncode == 1
    assert "cannot name a log" in bad.stderr
    assert not (fresh.data_dir / "signing.key").exists()


def test_unreachable_server_and_usage_errors_exit_2(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    key = SignerKey.generate("example.org/log").verifier_key()
    gone = run(tmp_path, "lotledger-verify", "log", f"http://127.0.0.1:{port}", "--key", key)
    assert gone.returncode == 2
    assert f"cannot reach http://127.0.0.1:{port}/v1/log/checkpoint" in gone.stderr
    assert "Error" not in gone.stderr
    usage = run(tmp_path, "lotledger-verify", "log")
    assert usage.returncode == 2
