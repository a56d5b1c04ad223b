"""C2SP signed notes, checkpoints and cosignatures against the Go sumdb example and our vector."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from verifier.errors import (
    CheckpointError,
    KeyFormatError,
    NoteError,
    NoteFormatError,
    SignatureError,
    UnknownKeyError,
)
from verifier.note import (
    ALG_COSIGNATURE_V1,
    ALG_ED25519,
    MAX_SIGNATURES,
    Checkpoint,
    Signature,
    SignerKey,
    VerifierKey,
    add_signatures,
    cosign_checkpoint,
    cosignature_message,
    key_id,
    parse_checkpoint,
    parse_note,
    sign_note,
    verify_checkpoint,
    verify_cosignature,
    verify_note,
)

VECTORS = json.loads((Path(__file__).parent.parent / "vectors" / "signed-note.json").read_text())
GO = VECTORS["golang_sumdb_example"]
CP8 = VECTORS["checkpoint_8"]
GO_KEY = VerifierKey.parse(GO["verifier_key"])
LOG_KEY = VerifierKey.parse(CP8["verifier_key"])
LOG_SIGNER = SignerKey.parse(CP8["signer_key"])
OTHER_SIGNER = SignerKey.generate("example.com/lots-test")  # same name, different key


# --- the Go sumdb example ----------------------------------------------------------------


def test_go_sumdb_example_verifies() -> None:
    note = verify_note(GO["note"], [GO_KEY])
    assert note.text == (
        "If you think cryptography is the answer to your problem,\n"
        "then you don't know what your problem is.\n"
    )
    assert [(s.name, s.key_id.hex()) for s in note.verified] == [("PeterNeumann", "c74f20a3")]
    assert note.signatures == note.verified


def test_go_sumdb_example_resigned_byte_for_byte() -> None:
    signer = SignerKey.parse(GO["signer_key"])
    assert signer.verifier_key() == GO_KEY
    assert sign_note(parse_note(GO["note"]).text, signer) == GO["note"]


@pytest.mark.parametrize("which", ["golang_sumdb_example", "checkpoint_8"])
def test_key_strings_round_trip(which: str) -> None:
    vector = VECTORS[which]
    verifier = VerifierKey.parse(vector["verifier_key"])
    signer = SignerKey.parse(vector["signer_key"])
    assert str(verifier) == vector["verifier_key"]
    assert str(signer) == vector["signer_key"]
    assert str(signer.verifier_key()) == vector["verifier_key"]
    assert verifier.key_id == key_id(verifier.name, ALG_ED25519, verifier.public_key)
    assert vector["signer_key"][len("PRIVATE+KEY+") :].split("+")[1] == verifier.key_id.hex()


def test_generated_keys_round_trip_and_hide_the_seed() -> None:
    for algorithm in (ALG_ED25519, ALG_COSIGNATURE_V1):
        signer = SignerKey.generate("witness.example/w1", algorithm)
        assert SignerKey.parse(str(signer)) == signer
        verifier = signer.verifier_key()
        assert VerifierKey.parse(str(verifier)) == verifier
        assert verifier.algorithm == algorithm
        assert signer.seed.hex() not in repr(signer)


# --- checkpoint_8 --------------------------------------------------------------------------


def test_checkpoint_8_verifies_and_parses() -> None:
    checkpoint = verify_checkpoint(CP8["note"], LOG_KEY, origin=CP8["origin"])
    assert checkpoint == Checkpoint(CP8["origin"], 8, bytes.fromhex(CP8["root_hex"]))
    assert checkpoint.size == CP8["tree_size"] == 8
    assert checkpoint.root_hash.hex() == CP8["root_hex"]
    assert checkpoint.body() == parse_note(CP8["note"]).text


def test_signing_checkpoint_8_reproduces_the_vector() -> None:
    body = Checkpoint(CP8["origin"], 8, bytes.fromhex(CP8["root_hex"])).body()
    assert body == "example.com/lots-test\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"
    assert sign_note(body, LOG_SIGNER) == CP8["note"]


def test_checkpoint_origin_must_match_when_asked() -> None:
    with pytest.raises(CheckpointError, match="origin"):
        verify_checkpoint(CP8["note"], LOG_KEY, origin="example.com/another-log")


# --- rejections ----------------------------------------------------------------------------


def _replace_first(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


def test_changed_byte_in_text_fails_signature() -> None:
    tampered = _replace_first(CP8["note"], "\n8\n", "\n9\n")
    with pytest.raises(SignatureError):
        verify_note(tampered, [LOG_KEY])
    with pytest.raises(SignatureError):
        verify_checkpoint(tampered, LOG_KEY)
    verify_note(CP8["note"], [LOG_KEY])  # the untampered note passes


@pytest.mark.parametrize("position", [0, 20, 45])
def test_any_changed_text_character_fails(position: int) -> None:
    note = CP8["note"]
    replacement = "X" if note[position] != "X" else "Y"
    tampered = note[:position] + replacement + note[position + 1 :]
    with pytest.raises(SignatureError):
        verify_note(tampered, [LOG_KEY])


def test_signature_from_another_key_with_the_same_name_is_ignored() -> None:
    body = parse_note(CP8["note"]).text
    forged = sign_note(body, OTHER_SIGNER)
    with pytest.raises(UnknownKeyError):
        verify_note(forged, [LOG_KEY])
    # next to the real signature it is ignored, and the note verifies
    both = add_signatures(CP8["note"], OTHER_SIGNER)
    assert verify_note(both, [LOG_KEY]).verified == parse_note(CP8["note"]).signatures


def test_wrong_signature_under_the_trusted_name_and_id_fails() -> None:
    note = parse_note(CP8["note"])
    bad = Signature(LOG_KEY.name, LOG_KEY.key_id, OTHER_SIGNER.sign(note.text.encode()))
    forged = note.text + "\n" + bad.line()
    with pytest.raises(SignatureError):
        verify_note(forged, [LOG_KEY])
    # a failing line by a trusted key poisons the note even next to a good one
    with pytest.raises(SignatureError):
        verify_note(CP8["note"] + bad.line(), [LOG_KEY])


def test_wrong_key_id_is_an_unknown_key() -> None:
    note = parse_note(CP8["note"])
    sig = note.signatures[0]
    wrong_id = bytes([sig.key_id[0] ^ 1]) + sig.key_id[1:]
    forged = note.text + "\n" + Signature(sig.name, wrong_id, sig.signature).line()
    with pytest.raises(UnknownKeyError):
        verify_note(forged, [LOG_KEY])


def test_wrong_name_is_an_unknown_key() -> None:
    note = parse_note(CP8["note"])
    sig = note.signatures[0]
    forged = note.text + "\n" + Signature("example.com/other", sig.key_id, sig.signature).line()
    with pytest.raises(UnknownKeyError):
        verify_note(forged, [LOG_KEY])


def test_no_trusted_keys_is_unknown_key() -> None:
    with pytest.raises(UnknownKeyError):
        verify_note(CP8["note"], [])
    with pytest.raises(UnknownKeyError):
        verify_note(CP8["note"], [GO_KEY])


def _sig_line() -> str:
    line: str = CP8["note"].split("\n\n", 1)[1]
    return line


BODY = "example.com/lots-test\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"


@pytest.mark.parametrize(
    "note",
    [
        pytest.param(BODY + _sig_line(), id="missing-blank-line"),
        pytest.param(BODY + "\n", id="no-signatures"),
        pytest.param(BODY + "\n" + _sig_line().rstrip("\n"), id="no-final-newline"),
        pytest.param(BODY + "\n" + _sig_line().replace("— ", "- ", 1), id="hyphen-not-em-dash"),
        pytest.param(BODY + "\n" + _sig_line().replace("— ", "—", 1), id="no-space-after-dash"),
        pytest.param(BODY + "\n— example.com/lots-test\n", id="no-signature"),
        pytest.param(BODY + "\n— example.com/lots-test !!!!\n", id="bad-base64"),
        pytest.param(BODY + "\n— example.com/lots-test AAAAAA==\n", id="too-short"),
        pytest.param(BODY + "\n— a+b AAAAAAA=\n", id="plus-in-name"),
        pytest.param(BODY + "\n—  AAAAAAAA\n", id="empty-name"),
        pytest.param(BODY + "\n" + _sig_line() + "\n", id="trailing-blank-line"),
        pytest.param(BODY.replace("8", "8\t") + "\n" + _sig_line(), id="control-character"),
        pytest.param("example\ud800\n\n" + _sig_line(), id="lone-surrogate"),
        pytest.param(BODY + "\n" + _sig_line() * (MAX_SIGNATURES + 1), id="too-many-signatures"),
    ],
)
def test_malformed_notes_are_refused(note: str) -> None:
    with pytest.raises(NoteFormatError):
        verify_note(note, [LOG_KEY])


def test_up_to_the_signature_limit_is_accepted() -> None:
    assert MAX_SIGNATURES >= 16
    note = BODY + "\n" + _sig_line() * MAX_SIGNATURES
    assert len(verify_note(note, [LOG_KEY]).verified) == MAX_SIGNATURES


def test_text_may_contain_blank_lines() -> None:
    text = "first\n\nthird\n"
    note = sign_note(text, LOG_SIGNER)
    assert verify_note(note, [LOG_KEY]).text == text


@pytest.mark.parametrize("text", ["no final newline", "tab\there\n", ""])
def test_sign_note_refuses_bad_text(text: str) -> None:
    with pytest.raises(NoteFormatError):
        sign_note(text, LOG_SIGNER)


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("", id="empty"),
        pytest.param("example.com/lots-test+604d1884", id="no-key"),
        pytest.param(CP8["verifier_key"].replace("604d1884", "604d1885"), id="wrong-key-id"),
        pytest.param(CP8["verifier_key"].replace("604d1884", "604D1884"), id="uppercase-key-id"),
        pytest.param(CP8["verifier_key"].replace("604d1884", "604d188"), id="short-key-id"),
        pytest.param(CP8["verifier_key"].replace("+ARpc", "+AxRpc"), id="bad-base64"),
        pytest.param(
            "example.com/lots-test+604d1884+" + base64.b64encode(b"\x01" + bytes(31)).decode(),
            id="short-key",
        ),
        pytest.param(CP8["verifier_key"].replace("+ARpc", "+CRpc"), id="unknown-algorithm"),
        pytest.param("exa mple+604d1884+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW", id="space"),
        pytest.param(CP8["signer_key"], id="signer-key-as-verifier"),
    ],
)
def test_bad_verifier_key_strings(key: str) -> None:
    with pytest.raises(KeyFormatError):
        VerifierKey.parse(key)


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(CP8["verifier_key"], id="verifier-key-as-signer"),
        pytest.param(CP8["signer_key"].replace("604d1884", "00000000"), id="wrong-key-id"),
        pytest.param(CP8["signer_key"].replace("PRIVATE+KEY+", "PRIVATE+"), id="bad-prefix"),
        pytest.param(CP8["signer_key"][:-4], id="truncated"),
    ],
)
def test_bad_signer_key_strings(key: str) -> None:
    with pytest.raises(KeyFormatError):
        SignerKey.parse(key)


def test_errors_share_the_note_root() -> None:
    for error in (NoteFormatError, KeyFormatError, SignatureError, UnknownKeyError):
        assert issubclass(error, NoteError)


# --- add_signatures ------------------------------------------------------------------------


def test_add_signatures_keeps_existing_lines() -> None:
    second = SignerKey.generate("example.com/mirror")
    both = add_signatures(CP8["note"], second)
    assert both.startswith(CP8["note"])
    assert verify_note(both, [LOG_KEY]).verified[0].name == LOG_KEY.name
    assert verify_note(both, [second.verifier_key()]).verified[0].name == "example.com/mirror"
    # signing again with the same key replaces its line instead of duplicating it
    assert add_signatures(both, second) == both


# --- checkpoints ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("origin\n08\n" + BODY.split("\n")[2] + "\n", id="leading-zero"),
        pytest.param("origin\n-1\n" + BODY.split("\n")[2] + "\n", id="negative"),
        pytest.param("origin\n+8\n" + BODY.split("\n")[2] + "\n", id="plus-sign"),
        pytest.param("origin\n8_0\n" + BODY.split("\n")[2] + "\n", id="underscore"),
        pytest.param("origin\n\u0668\n" + BODY.split("\n")[2] + "\n", id="arabic-digit"),
        pytest.param("origin\n8\nAAAA\n", id="short-root"),
        pytest.param("origin\n8\n" + base64.b64encode(bytes(33)).decode() + "\n", id="long-root"),
        pytest.param("origin\n8\n" + BODY.split("\n")[2], id="no-final-newline"),
        pytest.param("origin\n8\n", id="two-lines"),
        pytest.param("\n8\n" + BODY.split("\n")[2] + "\n", id="empty-origin"),
        pytest.param("origin\n8\n" + BODY.split("\n")[2] + "\n\n", id="empty-extension"),
        pytest.param("origin\n" + str(2**64) + "\n" + BODY.split("\n")[2] + "\n", id="huge"),
    ],
)
def test_malformed_checkpoint_bodies(body: str) -> None:
    with pytest.raises(CheckpointError):
        parse_checkpoint(body)


def test_checkpoint_extensions_and_empty_tree_round_trip() -> None:
    checkpoint = Checkpoint("example.com/log", 0, bytes(32), ("ext one", "ext-two"))
    body = checkpoint.body()
    assert (
        body
        == "example.com/log\n0\n" + base64.b64encode(bytes(32)).decode() + "\next one\next-two\n"
    )
    assert parse_checkpoint(body) == checkpoint


def test_verify_checkpoint_refuses_a_signed_non_checkpoint() -> None:
    with pytest.raises(CheckpointError):
        verify_checkpoint(sign_note("just text\n", LOG_SIGNER), LOG_KEY)


# --- cosignatures --------------------------------------------------------------------------

WITNESS = SignerKey.from_seed("witness.example/w1", bytes(range(32)), ALG_COSIGNATURE_V1)


def test_cosignature_round_trip() -> None:
    body = parse_note(CP8["note"]).text
    cosig = cosign_checkpoint(body, WITNESS, 1_700_000_000)
    assert cosig.signature[:8] == (1_700_000_000).to_bytes(8, "big")
    assert len(cosig.signature) == 72
    cosigned = add_signatures(CP8["note"], cosig)
    witness_key = WITNESS.verifier_key()
    assert verify_cosignature(cosigned, witness_key) == 1_700_000_000
    # the log's own signature still verifies, and the witness line is ignored by it
    assert verify_checkpoint(cosigned, LOG_KEY).size == 8
    # the signed message is exactly the spec's
    witness_key.verify(cosignature_message(body, 1_700_000_000), cosig.signature[8:])
    assert cosignature_message(body, 5).startswith(b"cosignature/v1\ntime 5\nexample.com/")


def test_cosignature_key_id_uses_type_4() -> None:
    key = WITNESS.verifier_key()
    assert key.key_id == key_id(key.name, 0x04, key.public_key)
    assert key.key_id != key_id(key.name, 0x01, key.public_key)
    assert str(key).split("+")[2].startswith("B")  # base64 of 0x04 || key


def test_tampered_cosignature_timestamp_fails() -> None:
    body = parse_note(CP8["note"]).text
    cosig = cosign_checkpoint(body, WITNESS, 1_700_000_000)
    moved = Signature(
        cosig.name, cosig.key_id, (1_700_000_001).to_bytes(8, "big") + cosig.signature[8:]
    )
    with pytest.raises(SignatureError):
        verify_cosignature(add_signatures(CP8["note"], moved), WITNESS.verifier_key())


def test_missing_cosignature_is_unknown_key() -> None:
    with pytest.raises(UnknownKeyError):
        verify_cosignature(CP8["note"], WITNESS.verifier_key())


def test_plain_signature_by_the_witness_key_does_not_count_as_cosignature() -> None:
    plain = SignerKey.from_seed("witness.example/w1", bytes(range(32)), ALG_ED25519)
    note = add_signatures(CP8["note"], plain)
    with pytest.raises(UnknownKeyError):  # different key ID: type 0x01 vs 0x04
        verify_cosignature(note, WITNESS.verifier_key())


def test_key_kinds_are_not_interchangeable() -> None:
    with pytest.raises(KeyFormatError):
        sign_note(BODY, WITNESS)
    with pytest.raises(KeyFormatError):
        cosign_checkpoint(BODY, LOG_SIGNER, 1)
    with pytest.raises(KeyFormatError):
        verify_checkpoint(CP8["note"], WITNESS.verifier_key())
    with pytest.raises(KeyFormatError):
        verify_cosignature(CP8["note"], LOG_KEY)
