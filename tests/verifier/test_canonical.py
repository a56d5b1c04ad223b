"""The fast canonical encoder must produce exactly the RFC 8785 bytes of the reference."""

from __future__ import annotations

import enum
from collections import OrderedDict
from decimal import Decimal
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from verifier.canonical import (
    MAX_SAFE_INTEGER,
    canonical_bytes,
    canonical_bytes_prechecked,
    canonical_bytes_reference,
    canonical_entry_bytes,
)
from verifier.errors import CanonicalizationError, EncodingError

# Characters that matter to JCS: controls (escaped), quote and backslash, DEL and
# C1 controls (not escaped), U+2028/9, the U+E000..U+FFFF block (sorts *after*
# surrogate pairs in UTF-16 but *before* them by code point), non-BMP emoji.
TRICKY = (
    [chr(c) for c in range(0x20)]
    + ['"', "\\", "/", "\x7f", "\x80", "\x9f", "\u00f6", "\u20ac", "\u2028", "\u2029"]
    + ["\ue000", "\uf8ff", "\ufb33", "\ufeff", "\ufffd", "\uffff"]
    + ["\U00010000", "\U0001f600", "\U0001f9ea", "\U0010ffff", "a", "b", "1", "A", "_"]
)
text = st.text(
    alphabet=st.one_of(st.sampled_from(TRICKY), st.characters(exclude_categories=["Cs"])),
    max_size=12,
)
keys = st.text(alphabet=st.sampled_from(TRICKY), max_size=4) | text
safe_ints = st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
scalars = st.none() | st.booleans() | safe_ints | text
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5)
        | st.lists(children, max_size=3).map(tuple)
        | st.dictionaries(keys, children, max_size=6)
    ),
    max_leaves=30,
)


@settings(max_examples=1500)
@given(json_values)
def test_equals_rfc8785_on_arbitrary_json(value: Any) -> None:
    assert canonical_bytes(value) == rfc8785.dumps(value)


@settings(max_examples=500)
@given(st.dictionaries(keys, safe_ints | text, min_size=2, max_size=12))
def test_key_order_is_utf16_order(value: dict[str, Any]) -> None:
    assert canonical_bytes(value) == rfc8785.dumps(value)


decimal_strings = st.decimals(
    min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=3, allow_nan=False
).map(lambda d: format(d.normalize(), "f"))
gtins = st.text(alphabet="0123456789", min_size=14, max_size=14)
hex64 = st.binary(min_size=32, max_size=32).map(bytes.hex)
timestamps = st.datetimes().map(lambda t: t.isoformat(timespec="microseconds") + "Z")
lots = st.fixed_dictionaries({"gtin": gtins, "lot": text})
events = st.fixed_dictionaries(
    {
        "type": st.sampled_from(["commissioned", "shipped", "received", "transformed", "recalled"]),
        "event_id": st.uuids().map(str),
        "lot": lots,
        "quantity": decimal_strings,
        "unit": st.sampled_from(["kg", "EA", "L", "t"]),
        "occurred_at": timestamps,
    },
    optional={
        "from": text,
        "to": text,
        "inputs": st.lists(lots, max_size=4),
        "outputs": st.lists(
            st.fixed_dictionaries({"gtin": gtins, "lot": text, "quantity": decimal_strings}),
            max_size=4,
        ),
        "note": text,
        "attributes": st.dictionaries(
            keys, text | safe_ints | st.booleans() | st.none(), max_size=4
        ),
    },
)
entries = st.fixed_dictionaries(
    {
        "seq": st.integers(min_value=0, max_value=MAX_SAFE_INTEGER),
        "prev": hex64,
        "recorded_at": timestamps,
        "actor": text,
        "event": events,
    }
)


@settings(max_examples=700)
@given(entries)
def test_equals_rfc8785_on_log_entries(entry: dict[str, Any]) -> None:
    assert canonical_bytes(entry) == rfc8785.dumps(entry) == canonical_bytes_reference(entry)


@settings(max_examples=700)
@given(entries)
def test_entry_bytes_equal_the_envelopes_rfc8785_bytes(entry: dict[str, Any]) -> None:
    """The write path's member-by-member encoding of an envelope is its JCS encoding (under
    canonical_bytes_prechecked's precondition: no key beyond the BMP, as in every event)."""
    built = canonical_entry_bytes(
        entry["seq"], entry["prev"], entry["recorded_at"], entry["actor"], entry["event"]
    )
    assert built == canonical_bytes_prechecked(entry)
    if _bmp_keys(entry):
        assert built == rfc8785.dumps(entry)


def _bmp_keys(value: Any) -> bool:
    if isinstance(value, dict):
        return all(max(k, default="") <= "\uffff" and _bmp_keys(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(_bmp_keys(v) for v in value)
    return True


@settings(max_examples=700)
@given(
    st.integers(min_value=-(2**60), max_value=2**60),
    text,
    text,
    text,
    st.dictionaries(keys, json_values, max_size=6),
)
def test_entry_bytes_equal_the_general_path_on_any_values(
    seq: int, prev: str, recorded_at: str, actor: str, event: dict[str, Any]
) -> None:
    envelope = {"seq": seq, "prev": prev, "recorded_at": recorded_at, "actor": actor}
    built = canonical_entry_bytes(seq, prev, recorded_at, actor, event)
    assert built == canonical_bytes_prechecked({**envelope, "event": event})


@pytest.mark.parametrize(
    ("seq", "actor", "event"),
    [
        (1, "farm\ud800", {"a": "b"}),
        (1, "farm", {"a": "\udfff"}),
        (1, "farm", {"a": {1, 2}}),
    ],
    ids=["lone surrogate in actor", "lone surrogate in event", "set"],
)
def test_entry_bytes_refuse_what_the_general_path_refuses(
    seq: int, actor: str, event: dict[str, Any]
) -> None:
    envelope = {"seq": seq, "prev": "00", "recorded_at": "t", "actor": actor, "event": event}
    with pytest.raises(CanonicalizationError) as general:
        canonical_bytes_prechecked(envelope)
    with pytest.raises(CanonicalizationError) as built:
        canonical_entry_bytes(seq, "00", "t", actor, event)
    assert str(built.value) == str(general.value)


def test_entry_bytes_of_other_types_take_the_general_path() -> None:
    class Text(str):
        pass

    for args in ((True, "p", "t", "a"), (2**60, "p", "t", "a"), (1, Text("p"), "t", "a")):
        envelope = dict(zip(("seq", "prev", "recorded_at", "actor"), args, strict=True))
        event = {"x": 1, "y": 1.5}  # a float breaks the precondition: same bytes all the same
        assert canonical_entry_bytes(*args, event) == canonical_bytes_prechecked(  # type: ignore[arg-type]
            {**envelope, "event": event}
        )


# --- explicit cases ------------------------------------------------------------------------


def test_rfc8785_section_3_2_3_sorting_example() -> None:
    value = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    expected = (
        '{"\\r":"Carriage Return","1":"One","\u0080":"Control",'
        '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",'
        '"\U0001f600":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}'
    ).encode()
    assert canonical_bytes(value) == expected == rfc8785.dumps(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, b"null", id="null"),
        pytest.param(True, b"true", id="true"),
        pytest.param(False, b"false", id="false"),
        pytest.param(0, b"0", id="zero"),
        pytest.param(-0, b"0", id="minus-zero"),
        pytest.param(MAX_SAFE_INTEGER, b"9007199254740991", id="max-int"),
        pytest.param(-MAX_SAFE_INTEGER, b"-9007199254740991", id="min-int"),
        pytest.param("", b'""', id="empty-string"),
        pytest.param([], b"[]", id="empty-list"),
        pytest.param({}, b"{}", id="empty-object"),
        pytest.param((1, "a"), b'[1,"a"]', id="tuple"),
        pytest.param(
            '\x00\x01\b\t\n\x0b\f\r\x1f"\\/\x7f',
            b'"\\u0000\\u0001\\b\\t\\n\\u000b\\f\\r\\u001f\\"\\\\/\x7f"',
            id="control-escapes",
        ),
        pytest.param("\u2028\u2029\U0001f600", '"\u2028\u2029\U0001f600"'.encode(), id="no-escape"),
        pytest.param(
            {"b": [1, {"z": None, "a": True}], "a": "120.5"},
            b'{"a":"120.5","b":[1,{"a":true,"z":null}]}',
            id="nested-sorted",
        ),
        pytest.param(
            {"\ue000": 1, "\U00010000": 2, "\uffff": 3, "z": 4},
            '{"z":4,"\U00010000":2,"\ue000":1,"\uffff":3}'.encode(),
            id="surrogate-pair-sorts-below-e000",
        ),
        pytest.param(
            {"outer": {"\ue000": 1, "\U0001f600": 2}},
            '{"outer":{"\U0001f600":2,"\ue000":1}}'.encode(),
            id="nested-non-bmp-key",
        ),
    ],
)
def test_explicit_cases(value: object, expected: bytes) -> None:
    assert canonical_bytes(value) == expected
    assert rfc8785.dumps(value) == expected  # type: ignore[arg-type]


class Colour(enum.StrEnum):
    RED = "red"


class Count(enum.IntEnum):
    TWO = 2


@pytest.mark.parametrize(
    "value",
    [
        pytest.param({"colour": Colour.RED, "n": Count.TWO}, id="enum-subclasses"),
        pytest.param(OrderedDict([("b", 1), ("a", 2)]), id="ordered-dict"),
        pytest.param({Colour.RED: 1, "a": 2}, id="str-subclass-key"),
    ],
)
def test_subclasses_of_json_types_match_reference(value: object) -> None:
    assert canonical_bytes(value) == rfc8785.dumps(value)  # type: ignore[arg-type]


# --- rejections ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(1.5, r"float 1\.5 at \$", id="float"),
        pytest.param(1.0, r"float 1\.0 at \$", id="integral-float"),
        pytest.param(float("nan"), r"float nan", id="nan"),
        pytest.param({"quantity": 120.5}, r"\$\.quantity", id="float-in-object"),
        pytest.param(
            {"event": {"lot": [1, 2.5]}}, r"float 2\.5 at \$\.event\.lot\[1\]", id="nested-path"
        ),
        pytest.param(2**53, r"integer 9007199254740992 at \$", id="int-too-big"),
        pytest.param([-(2**53)], r"integer -9007199254740992 at \$\[0\]", id="int-too-small"),
        pytest.param({1: "a"}, r"object key 1 \(int\) at \$", id="int-key"),
        pytest.param({"a": {None: 1}}, r"key None \(NoneType\) at \$\.a", id="none-key"),
        pytest.param({("a",): 1}, r"keys must be strings", id="tuple-key"),
        pytest.param(
            {"a": "x\ud800y"}, r"string at \$\.a contains a lone surrogate U\+D800", id="surrogate"
        ),
        pytest.param(
            {"k\udc00": 1}, r"key at \$\[.*\] contains a lone surrogate U\+DC00", id="key-surrogate"
        ),
        pytest.param(
            {"\U0001f600": "\udfff", "\ue000": 1},
            r"lone surrogate U\+DFFF",
            id="surrogate-non-bmp-path",
        ),
        pytest.param({"a": {1, 2}}, r"set at \$\.a is not a JSON value", id="set"),
        pytest.param(b"bytes", r"bytes at \$ is not a JSON value", id="bytes"),
        pytest.param({"q": Decimal("1.5")}, r"Decimal at \$\.q", id="decimal"),
        pytest.param([object()], r"object at \$\[0\]", id="object"),
        pytest.param({"x y": [1.5]}, r'\$\["x y"\]\[0\]', id="quoted-key-path"),
    ],
)
def test_rejections_say_what_and_where(value: object, message: str) -> None:
    with pytest.raises(CanonicalizationError, match=message):
        canonical_bytes(value)


def test_circular_references_are_refused() -> None:
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(CanonicalizationError, match="circular reference at"):
        canonical_bytes(loop)
    cycle: dict[str, object] = {}
    cycle["self"] = {"again": cycle}
    with pytest.raises(CanonicalizationError, match=r"circular reference at \$\.self\.again"):
        canonical_bytes(cycle)


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    deep: object = "leaf"
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(CanonicalizationError, match="nested too deeply"):
        canonical_bytes(deep)


def test_shared_non_circular_values_are_fine() -> None:
    shared = {"gtin": "09506000134352"}
    value: dict[str, Any] = {"a": shared, "b": [shared, shared]}
    assert canonical_bytes(value) == rfc8785.dumps(value)


def test_reference_reports_our_error_type() -> None:
    assert issubclass(CanonicalizationError, EncodingError)
    with pytest.raises(CanonicalizationError):
        canonical_bytes_reference({"a": 2**60})
