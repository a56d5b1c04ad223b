"""The event schema: what the canonical encoder's fast path relies on, and its bytes."""

from __future__ import annotations

import typing
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from ledger.events import models as events
from ledger.events.models import parse_events
from verifier.canonical import canonical_bytes_prechecked, canonical_bytes_reference


def _models() -> list[type[BaseModel]]:
    union = typing.get_args(typing.get_args(events.Event)[0])
    return list(union)


def _annotations(model: type[BaseModel]) -> list[Any]:
    out = []
    for field in model.model_fields.values():
        stack = [field.annotation]
        while stack:
            ann = stack.pop()
            out.append(ann)
            stack.extend(typing.get_args(ann))
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                out.extend(_annotations(ann))
    return out


@pytest.mark.parametrize("model", _models(), ids=lambda m: m.__name__)
def test_no_event_field_is_a_float(model: type[BaseModel]) -> None:
    """canonical_bytes_prechecked skips the type walk because no event holds a float or int."""
    kinds = _annotations(model)
    assert float not in kinds
    assert int not in kinds


def test_every_event_type_has_a_model_and_an_epcis_mapping() -> None:
    tags = {m.model_fields["type"].annotation.__args__[0] for m in _models()}  # type: ignore[union-attr]
    assert tags == set(events.EVENT_TYPES) == set(events.EPCIS)


texts = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)


@settings(max_examples=300, deadline=None)
@given(
    product=texts,
    reason=texts,
    qty=st.decimals(min_value="0.000001", max_value="99999999", places=6),
)
def test_validated_events_encode_exactly_as_rfc8785(product: str, reason: str, qty: Any) -> None:
    raw = [
        {
            "event_id": str(uuid.uuid4()),
            "type": "register",
            "event_time": "2026-11-20T08:00:00+01:00",
            "location": "farm-1",
            "lot": {"gtin": "9506000134352", "lot": "L1"},
            "quantity": str(qty),
            "unit": "kg",
            "product": product[:200],
        },
        {
            "event_id": str(uuid.uuid4()),
            "type": "hold",
            "event_time": "2026-11-20T08:00:00Z",
            "location": "dc-1",
            "lot": {"gtin": "09506000134352", "lot": "L1"},
            "kind": "recall",
            "reason": reason[:200],
        },
    ]
    for model in parse_events(raw):
        envelope = {
            "seq": 7,
            "prev": "00" * 32,
            "recorded_at": "2026-11-24T10:00:00.000000Z",
            "actor": "farm",
            "event": model.model_dump(mode="json", exclude_none=True),
        }
        assert canonical_bytes_prechecked(envelope) == canonical_bytes_reference(envelope)


def test_gtin_is_normalised_to_14_digits_and_quantity_normalised() -> None:
    (event,) = parse_events(
        [
            {
                "event_id": str(uuid.uuid4()).upper(),
                "type": "register",
                "event_time": "2026-11-20T08:00:00Z",
                "location": "farm-1",
                "lot": {"gtin": "9506000134352", "lot": "L1"},
                "quantity": "120.500",
                "unit": "kg",
                "product": "Romaine lettuce",
            }
        ]
    )
    dumped = event.model_dump(mode="json", exclude_none=True)
    assert dumped["lot"]["gtin"] == "09506000134352"
    assert dumped["quantity"] == "120.5"
    assert dumped["event_id"] == dumped["event_id"].lower()


def test_dump_event_is_model_dump() -> None:
    """The write path dumps events through the model's serializer directly (``dump_event``):
    it must give exactly ``model_dump(mode="json", exclude_none=True)``, nested models,
    lists, defaults and left-out optional fields included."""
    lot = {"gtin": "9506000134352", "lot": "L1"}
    when = "2026-11-20T08:00:00+01:00"
    base = {"event_time": when, "location": "farm-1"}
    raw = [
        {"type": "register", "lot": lot, "quantity": "12.50", "unit": "kg", "product": "P"},
        {
            "type": "transform",
            "inputs": [{"lot": lot, "quantity": "1", "unit": "kg"}],
            "outputs": [
                {"lot": {**lot, "lot": "L2"}, "quantity": "2", "unit": "each", "product": "Q"},
                {
                    "lot": {**lot, "lot": "L3"},
                    "quantity": "3",
                    "unit": "each",
                    "product": "R",
                    "expiry": "2026-12-01",
                },
            ],
        },
        {
            "type": "receive",
            "lot": lot,
            "quantity": "5",
            "unit": "kg",
            "from_location": "dc-1",
            "damaged": "1.0",
            "reference": {"type": "po", "number": "PO-1"},
        },
        {
            "type": "observe",
            "readings": [{"sensor": "humidity", "value": "-2.50", "unit": "%", "time": when}],
        },
        {
            "type": "order_placed",
            "order_id": "PO-1",
            "supplier_location": "dc-1",
            "lines": [{"gtin": "9506000134352", "quantity": "4", "unit": "case"}],
        },
        {"type": "release", "lot": lot, "reason": "checked"},
    ]
    models = parse_events([{"event_id": str(uuid.uuid4()), **base, **e} for e in raw])
    assert {m.type for m in models} == {e["type"] for e in raw}  # type: ignore[attr-defined]
    for model in models:
        dumped = events.dump_event(model)
        assert dumped == model.model_dump(mode="json", exclude_none=True)
        assert list(dumped) == list(model.model_dump(mode="json", exclude_none=True))
