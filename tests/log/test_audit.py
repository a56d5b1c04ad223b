"""The full audit: exports and live logs, and every way to change a stored log behind the
service's back (done here as an attacker with database access would: triggers off)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from ledger import Ledger, Settings, write_export
from ledger.log.signing import sign_checkpoint
from ledger.storage.db import is_sqlite
from tests.api_fixtures import Keys, make_keys, serve
from tests.conftest import SALAD, TOMATO, Events
from verifier.audit import (
    LogAuditor,
    audit_export,
    audit_url,
    check_checkpoint_url,
    http_fetch,
    load_state,
    trusted_checkpoint,
)
from verifier.canonical import canonical_bytes
from verifier.compact import CompactRange
from verifier.errors import (
    ChainError,
    CheckpointMismatchError,
    EntryError,
    FormatError,
    HistoryRewrittenError,
    SignatureError,
    TreeError,
    UnknownLogError,
)
from verifier.export import read_export
from verifier.hashing import leaf_hash
from verifier.note import Checkpoint, SignerKey, sign_note

LETTUCE = "09506000134352"


# -- the demo supply chain, shared by the verifier's tests ---------------------------------


def demo_log(world: Ledger, ev: Events) -> Ledger:
    """Farm -> processor (salad from lettuce and tomato) -> DC -> store; 17 entries, 10 batches."""
    farm, plant, dc, store = "farm-field-1", "fresh-plant", "retail-dc", "store-1"
    world.append(
        [ev.register("L1", "100"), ev.register("T1", "60", gtin=TOMATO), ev.register("L2", "10")],
        actor="farm",
    )
    world.append(
        [
            ev.ship("L1", "40", frm=farm, to=plant, shipment_id="BOL-1"),
            ev.ship("T1", "30", frm=farm, to=plant, gtin=TOMATO),
        ],
        actor="farm",
    )
    world.append(
        [
            ev.receive("L1", "40", frm=farm, at=plant, shipment_id="BOL-1"),
            ev.receive("T1", "30", frm=farm, at=plant, gtin=TOMATO),
        ],
        actor="fresh",
    )
    world.append(
        [
            ev._base(
                "transform",
                plant,
                inputs=[
                    {"lot": {"gtin": LETTUCE, "lot": "L1"}, "quantity": "30", "unit": "kg"},
                    {"lot": {"gtin": TOMATO, "lot": "T1"}, "quantity": "20", "unit": "kg"},
                ],
                outputs=[
                    {
                        "lot": {"gtin": SALAD, "lot": "S1"},
                        "quantity": "50",
                        "unit": "kg",
                        "product": "Garden salad",
                    }
                ],
            )
        ],
        actor="fresh",
    )
    world.append(
        [
            ev.ship("S1", "30", frm=plant, to=dc, gtin=SALAD),
            ev.leave("dispose", "L1", "2", at=plant, reason="spoilage"),
        ],
        actor="fresh",
    )
    world.append([ev.receive("S1", "30", frm=plant, at=dc, gtin=SALAD)], actor="retail")
    world.append(
        [
            ev.ship("S1", "20", frm=dc, to=store, gtin=SALAD),
            ev._base(
                "adjust",
                dc,
                lot={"gtin": SALAD, "lot": "S1"},
                variance="-1.5",
                unit="kg",
                reason="count",
            ),
        ],
        actor="retail",
    )
    world.append([ev.receive("S1", "20", frm=dc, at=store, gtin=SALAD)], actor="retail")
    world.append(
        [
            ev.leave("sell", "S1", "5.25", at=store, gtin=SALAD),
            ev.leave("dispose", "S1", "2", at=store, gtin=SALAD, reason="expired"),
        ],
        actor="retail",
    )
    world.append([ev.leave("sell", "L2", "1", at=farm)], actor="farm")
    return world


@pytest.fixture
def demo(world: Ledger, ev: Events) -> Ledger:
    return demo_log(world, ev)


def export_bytes(ledger: Ledger) -> bytes:
    out = io.BytesIO()
    write_export(ledger, out)
    return out.getvalue()


def audit(data: bytes, ledger: Ledger, state: Path | None = None) -> Any:
    return audit_export(io.BytesIO(data), ledger.verifier_key, state_path=state)


# -- attacker helpers ------------------------------------------------------------------


def unlock(ledger: Ledger) -> None:
    """Switch the append-only triggers off, as someone with database access could."""
    with ledger.engine.begin() as conn:
        if is_sqlite(conn):
            for table in ("log_entries", "log_checkpoints"):
                for action in ("update", "delete"):
                    conn.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_{action}"))
        else:
            for table in ("log_entries", "log_checkpoints"):
                conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))


def sql(ledger: Ledger, statement: str, **params: Any) -> None:
    with ledger.engine.begin() as conn:
        conn.execute(text(statement), params)


def leaf_of(ledger: Ledger, seq: int) -> bytes:
    return ledger.entries(seq, seq + 1)[0].leaf_bytes


def set_leaf(ledger: Ledger, seq: int, leaf: bytes) -> None:
    sql(ledger, "UPDATE log_entries SET leaf_bytes = :b WHERE seq = :s", b=leaf, s=seq)


def flip_event_byte(leaf: bytes) -> bytes:
    at = leaf.index(b'"event_id":"') + 12
    return leaf[:at] + (b"a" if leaf[at : at + 1] != b"a" else b"b") + leaf[at + 1 :]


def checkpoint_sizes(ledger: Ledger) -> list[int]:
    with ledger.engine.connect() as conn:
        rows = conn.execute(text("SELECT tree_size FROM log_checkpoints ORDER BY tree_size"))
        return [int(r[0]) for r in rows]


def rewrite_history(ledger: Ledger, start: int, change: Callable[[dict[str, Any]], None]) -> None:
    """Change entry ``start`` and re-chain, re-hash and re-sign everything after it with the
    log's own key: a log operator rewriting history."""
    size = ledger.size()
    envelopes = [json.loads(e.leaf_bytes) for e in ledger.entries(0, size)]
    change(envelopes[start]["event"])
    sizes = set(checkpoint_sizes(ledger))
    compact = CompactRange()
    prev = bytes(32)
    for seq, envelope in enumerate(envelopes):
        envelope["prev"] = prev.hex()
        leaf = canonical_bytes(envelope)
        h = leaf_hash(leaf)
        nodes = compact.append_hashes(h)
        if seq >= start:
            sql(
                ledger,
                "UPDATE log_entries SET leaf_bytes = :b, leaf_hash = :h, nodes = :n WHERE seq = :s",
                b=leaf,
                h=h,
                n=nodes,
                s=seq,
            )
        if compact.size in sizes and compact.size > start:
            root = compact.root()
            note = sign_checkpoint(ledger.signer, compact.size, root)
            sql(
                ledger,
                "UPDATE log_checkpoints SET root_hash = :r, note = :n WHERE tree_size = :s",
                r=root,
                n=note,
                s=compact.size,
            )
        prev = h
    sql(
        ledger,
        "UPDATE log_head SET last_leaf_hash = :h, frontier = :f WHERE id = 1",
        h=prev,
        f=b"".join(compact.hashes),
    )


# -- a clean log ------------------------------------------------------------------------


def test_export_of_the_demo_log_audits(demo: Ledger) -> None:
    data = export_bytes(demo)
    header, items = read_export(io.BytesIO(data))
    listed = list(items)
    assert header.tree_size == demo.size() == 17
    assert sum(1 for i in listed if hasattr(i, "leaf")) == 17
    report = audit(data, demo)
    assert report.tree_size == 17
    assert report.entries_checked == 17
    assert report.checkpoints_checked == len(checkpoint_sizes(demo)) == 10
    assert report.root == demo.latest_checkpoint()[1]


def test_empty_log_exports_and_audits(ledger: Ledger) -> None:
    report = audit(export_bytes(ledger), ledger)
    assert (report.tree_size, report.entries_checked) == (0, 0)


def test_auditor_recomputes_every_stored_node(demo: Ledger) -> None:
    """The frontier the auditor keeps is the one the ledger stores in its head."""
    auditor = LogAuditor(demo.verifier_key)
    for entry in demo.entries(0, demo.size()):
        auditor.add(entry.seq, entry.leaf_bytes)
    assert auditor.root() == demo.root()
    assert auditor.prev_hex.decode() == demo.entries(16, 17)[0].leaf_hash.hex()


@pytest.mark.parametrize("cut", [1, 2, 5])
def test_truncated_export_is_refused(demo: Ledger, cut: int) -> None:
    lines = export_bytes(demo).splitlines(keepends=True)
    with pytest.raises(FormatError, match="truncated"):
        audit(b"".join(lines[:-cut]), demo)


def test_export_with_another_origin_or_version_is_refused(demo: Ledger) -> None:
    data = export_bytes(demo)
    with pytest.raises(FormatError, match="version"):
        audit(data.replace(b'"version":1', b'"version":2', 1), demo)
    other = SignerKey.generate("other.example/log").verifier_key()
    with pytest.raises(UnknownLogError, match=r"'test.lotledger.example/log'.*'other.example/log'"):
        audit_export(io.BytesIO(data), other)
    # The same origin under another key (a second deployment named alike): names both keys.
    same_name = SignerKey.generate(demo.origin).verifier_key()
    with pytest.raises(UnknownLogError) as caught:
        audit_export(io.BytesIO(data), same_name)
    assert demo.verifier_key.key_id.hex() in str(caught.value)
    assert same_name.key_id.hex() in str(caught.value)


# -- tamper detection, exhaustively ---------------------------------------------------------


def tamper_byte(ledger: Ledger) -> None:
    set_leaf(ledger, 5, flip_event_byte(leaf_of(ledger, 5)))


def tamper_prev(ledger: Ledger) -> None:
    leaf = leaf_of(ledger, 5)
    at = leaf.rindex(b'"prev":"') + 8
    set_leaf(ledger, 5, leaf[:at] + (b"0" if leaf[at : at + 1] != b"0" else b"1") + leaf[at + 1 :])


def tamper_remove(ledger: Ledger) -> None:
    sql(ledger, "DELETE FROM log_entries WHERE seq = 5")


def tamper_swap(ledger: Ledger) -> None:
    five, six = leaf_of(ledger, 5), leaf_of(ledger, 6)
    set_leaf(ledger, 5, six)
    set_leaf(ledger, 6, five)


def tamper_insert(ledger: Ledger) -> None:
    size = ledger.size()
    for seq in range(size - 1, 4, -1):  # make room at 5, from the top down
        sql(ledger, "UPDATE log_entries SET seq = :n WHERE seq = :s", n=seq + 1, s=seq)
    forged = json.loads(leaf_of(ledger, 6))
    forged["event"]["event_id"] = "00000000-0000-4000-8000-000000000005"
    forged["event"]["quantity"] = "1"
    forged["prev"] = leaf_hash(leaf_of(ledger, 4)).hex()
    leaf = canonical_bytes(forged)
    sql(
        ledger,
        "INSERT INTO log_entries (seq, event_id, leaf_hash, leaf_bytes, event_type, recorded_at,"
        " nodes) VALUES (5, :e, :h, :b, 'ship', :r, :n)",
        e=forged["event"]["event_id"],
        h=leaf_hash(leaf),
        b=leaf,
        r=forged["recorded_at"],
        n=b"",
    )


def tamper_node(ledger: Ledger) -> None:
    sql(ledger, "UPDATE log_entries SET nodes = :n WHERE seq = 7", n=b"\x07" * 96)


def tamper_last(ledger: Ledger) -> None:
    set_leaf(ledger, 16, flip_event_byte(leaf_of(ledger, 16)))


def tamper_resign(ledger: Ledger) -> None:
    impostor = SignerKey.generate(ledger.origin)
    size, root = 7, ledger.root(7)
    note = sign_note(Checkpoint(ledger.origin, size, root).body(), impostor)
    sql(ledger, "UPDATE log_checkpoints SET note = :n WHERE tree_size = :s", n=note, s=size)


TAMPERS: list[tuple[str, Callable[[Ledger], None], type[EntryError], int, str]] = [
    ("a byte of an entry", tamper_byte, ChainError, 5, "hash chain"),
    ("a byte of an entry's prev", tamper_prev, ChainError, 5, "prev link"),
    ("an entry removed", tamper_remove, ChainError, 5, "sequence"),
    ("two entries swapped", tamper_swap, ChainError, 5, "sequence"),
    ("an entry inserted", tamper_insert, ChainError, 5, "sequence"),
    ("a tree node changed", tamper_node, TreeError, 7, "tree node"),
    ("the last entry changed", tamper_last, TreeError, 16, "checkpoint root"),
    ("a checkpoint re-signed with another key", tamper_resign, CheckpointMismatchError, 6, "7"),
]


@pytest.mark.parametrize(
    ("tamper", "error", "seq", "check"),
    [pytest.param(t, e, s, c, id=name) for name, t, e, s, c in TAMPERS],
)
def test_audit_names_the_first_bad_entry(
    demo: Ledger,
    tamper: Callable[[Ledger], None],
    error: type[EntryError],
    seq: int,
    check: str,
) -> None:
    audit(export_bytes(demo), demo)  # clean before
    unlock(demo)
    tamper(demo)
    with pytest.raises(error) as caught:
        audit(export_bytes(demo), demo)
    assert caught.value.seq == seq, str(caught.value)
    assert check in caught.value.check
    assert f"entry {seq}" in str(caught.value)


def test_tampered_export_file_is_caught_too(demo: Ledger) -> None:
    lines = export_bytes(demo).split(b"\n")
    entry_lines = [i for i, line in enumerate(lines) if line.startswith(b'{"leaf"')]
    a, b = entry_lines[3], entry_lines[4]
    swapped = list(lines)
    swapped[a], swapped[b] = lines[b], lines[a]
    with pytest.raises(ChainError) as caught:
        audit(b"\n".join(swapped), demo)
    assert caught.value.seq == 3
    dropped = [line for i, line in enumerate(lines) if i != entry_lines[9]]
    with pytest.raises(ChainError) as caught:
        audit(b"\n".join(dropped), demo)
    assert caught.value.seq == 9


def test_rewritten_history_is_caught_by_the_state_of_the_last_audit(
    demo: Ledger, tmp_path: Path
) -> None:
    state = tmp_path / "audit-state.json"
    audit(export_bytes(demo), demo, state)
    saved = load_state(state, demo.verifier_key)
    assert saved is not None
    assert saved.checkpoint_size == 17

    unlock(demo)
    rewrite_history(demo, 5, lambda event: event.update(quantity="3"))
    rewritten = export_bytes(demo)
    # On its own the rewritten log is a perfectly valid log, signed by the log's own key ...
    assert audit(rewritten, demo).tree_size == 17
    # ... but not the one audited before.
    with pytest.raises(HistoryRewrittenError) as caught:
        audit(rewritten, demo, state)
    first = caught.value.first_entry
    assert first is not None
    assert first <= 5
    assert f"entries {first}.." in str(caught.value)
    # The state still holds the history verified before.
    again = load_state(state, demo.verifier_key)
    assert again is not None
    assert again.checkpoint_root == saved.checkpoint_root


def test_state_catches_a_rolled_back_export(demo: Ledger, ev: Events, tmp_path: Path) -> None:
    before = export_bytes(demo)
    demo.append([ev.register("L9")], actor="farm")
    state = tmp_path / "state.json"
    audit(export_bytes(demo), demo, state)
    with pytest.raises(HistoryRewrittenError, match="rolled back"):
        audit(before, demo, state)


def test_state_accepts_a_grown_log(demo: Ledger, ev: Events, tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    audit(export_bytes(demo), demo, state)
    demo.append([ev.register("L9"), ev.register("L10")], actor="farm")
    report = audit(export_bytes(demo), demo, state)
    assert (report.previous_size, report.tree_size) == (17, 19)


# -- auditing a live log over HTTP ---------------------------------------------------------


@pytest.fixture
def served(demo: Ledger, settings: Settings) -> Iterator[str]:
    """The demo log behind a real ``lotledger serve`` process on a free port."""
    yield from serve(settings, workers=1)


@pytest.fixture
def reader(demo: Ledger) -> Keys:
    """Keys of the demo's organisations, among them the regulator's, which reads entries."""
    return make_keys(demo)


def recording(asked: list[str], api_key: str) -> Callable[[str], bytes]:
    """The verifier's own HTTP client, noting each URL it asks for."""

    def fetch(url: str) -> bytes:
        asked.append(url)
        return http_fetch(url, api_key=api_key)

    return fetch


def test_url_audit_fetches_only_new_entries_and_resumes(
    demo: Ledger, served: str, reader: Keys, ev: Events, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    asked: list[str] = []
    fetch = recording(asked, reader.regulator)
    # Interrupted after two pages: progress is kept.
    partial = audit_url(served, demo.verifier_key, state_path=state, page_size=4,
                        fetch=fetch, max_pages=2)  # fmt: skip
    assert partial.tree_size == 8
    resumed = audit_url(served, demo.verifier_key, state_path=state, fetch=fetch)
    assert (resumed.tree_size, resumed.entries_checked) == (17, 9)
    assert resumed.root == demo.latest_checkpoint()[1]

    # The repeat audit after the log grew: the server's consistency proof is read and
    # checked, and only the new entries are fetched (the bug of issue 15 failed here).
    demo.append([ev.register("L9"), ev.register("L10")], actor="farm")
    asked.clear()
    grown = audit_url(served, demo.verifier_key, state_path=state, fetch=fetch)
    assert (grown.previous_size, grown.tree_size, grown.entries_checked) == (17, 19, 2)
    assert f"{served}/v1/log/proof/consistency?first=17&second=19" in asked
    assert [u for u in asked if "entries" in u] == [f"{served}/v1/log/entries?start=17&end=19"]
    # Nothing new: a third audit checks the same checkpoint and passes.
    again = audit_url(served, demo.verifier_key, state_path=state, fetch=fetch)
    assert (again.previous_size, again.tree_size, again.entries_checked) == (19, 19, 0)


def test_url_audit_catches_rewritten_history(
    demo: Ledger, served: str, reader: Keys, ev: Events, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    audit_url(served, demo.verifier_key, state_path=state, api_key=reader.regulator)
    unlock(demo)
    rewrite_history(demo, 5, lambda event: event.update(quantity="3"))
    demo.append([ev.register("L9")], actor="farm")
    with pytest.raises(HistoryRewrittenError, match="not consistent"):
        audit_url(served, demo.verifier_key, state_path=state, api_key=reader.admin)
    # The keyless check of the checkpoint alone (a witness's) catches it too.
    with pytest.raises(HistoryRewrittenError, match="not consistent"):
        check_checkpoint_url(served, demo.verifier_key, state_path=state)


def test_url_audit_catches_a_changed_entry(
    demo: Ledger, served: str, reader: Keys, tmp_path: Path
) -> None:
    unlock(demo)
    tamper_byte(demo)
    with pytest.raises(ChainError) as caught:
        audit_url(
            served, demo.verifier_key, state_path=tmp_path / "s.json", api_key=reader.regulator
        )
    assert caught.value.seq == 5


def test_url_audit_needs_an_auditor_key_and_the_checkpoint_does_not(
    demo: Ledger, served: str, reader: Keys, ev: Events, tmp_path: Path
) -> None:
    state = tmp_path / "state.json"
    # No key: the server refuses the entries, naming the roles that read them.
    with pytest.raises(OSError, match="401") as anonymous:
        audit_url(served, demo.verifier_key, state_path=state)
    assert "regulator (auditor) or admin API key" in str(anonymous.value)
    # A retailer's manager sees its own lots, not the log's contents.
    with pytest.raises(OSError, match="403") as manager:
        audit_url(served, demo.verifier_key, state_path=state, api_key=reader.manager)
    assert "a manager key may not read the log's contents" in str(manager.value)
    assert reader.manager not in str(manager.value)  # the key is never in a message

    # Without a key: the signed checkpoint, with nothing audited before to compare with ...
    alone = check_checkpoint_url(served, demo.verifier_key, state_path=state)
    size, root, _note = demo.latest_checkpoint()
    assert (alone.tree_size, alone.root, alone.previous_size) == (size, root, None)
    assert demo.verifier_key.key_id.hex() in alone.signers
    assert not state.exists()  # nothing was audited entry by entry: no state written
    # ... and after a keyed audit, its consistency with the size audited then.
    audit_url(served, demo.verifier_key, state_path=state, api_key=reader.regulator)
    demo.append([ev.register("L9")], actor="farm")
    grown = check_checkpoint_url(served, demo.verifier_key, state_path=state)
    assert (grown.previous_size, grown.tree_size) == (size, size + 1)
    again = audit_url(served, demo.verifier_key, state_path=state, api_key=reader.regulator)
    assert (again.previous_size, again.entries_checked) == (size, 1)


def test_a_forged_checkpoint_is_tampering_and_another_logs_is_not(demo: Ledger) -> None:
    size, root, note = demo.latest_checkpoint()
    assert trusted_checkpoint(note, demo.verifier_key, "the checkpoint").root_hash == root
    forged = note.replace(f"\n{size}\n", f"\n{size + 1}\n", 1)
    with pytest.raises(SignatureError, match="forged or altered"):
        trusted_checkpoint(forged, demo.verifier_key, "the checkpoint")
    other = SignerKey.generate("other.example/log")
    with pytest.raises(UnknownLogError) as caught:
        trusted_checkpoint(note, other.verifier_key(), "the checkpoint")
    words = str(caught.value)
    assert demo.origin in words
    assert demo.verifier_key.key_id.hex() in words
    assert other.key_id.hex() in words
    with pytest.raises(FormatError, match="not a signed checkpoint"):
        trusted_checkpoint("<html>not found</html>\n", demo.verifier_key, "the checkpoint")
