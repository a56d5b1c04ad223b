"""Our CBV 2.0 event hash IDs equal the reference implementation's
(``epcis-event-hash-generator``) on the vendored documents, event by event."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from epcis_event_hash_generator.__main__ import epcis_hash_from_file

from ledger.epcis.event_hash import UnhashableEvent, event_hash_id, pre_hash_string, utc_millis
from ledger.epcis.identifiers import epc_to_digital_link, lgtin, lot_class

VENDOR = Path(__file__).parent / "vendor"
DOCUMENTS = sorted(VENDOR.glob("*/*.jsonld"))


# The package reads its bundled JSON-LD contexts with importlib.resources.open_text, which
# Python 3.11 deprecates; nothing of ours is concerned.
@pytest.mark.filterwarnings("ignore:open_text is deprecated:DeprecationWarning")
@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_event_hash_equals_the_reference_implementations(path: Path) -> None:
    logging.disable(logging.CRITICAL)  # the package logs every pre-hash string at INFO
    try:
        hashes, pre_hashes = epcis_hash_from_file(str(path))
    finally:
        logging.disable(logging.NOTSET)
    document = json.loads(path.read_text())
    events = document["epcisBody"]["eventList"]
    assert len(events) == len(hashes)
    compared = 0
    for event, expected, expected_pre in zip(events, hashes, pre_hashes, strict=True):
        if "sensorElementList" in event:
            with pytest.raises(UnhashableEvent, match="sensorElementList"):
                event_hash_id(event, document["@context"])
            continue
        assert pre_hash_string(event, document["@context"]) == expected_pre
        assert event_hash_id(event, document["@context"]) == expected
        compared += 1
    assert compared >= 1


def test_lgtin_and_digital_link_name_the_same_lot() -> None:
    by_urn = lot_class("urn:epc:class:lgtin:4012345.012345.998877")
    by_link = lot_class("https://example.com/01/04012345123456/10/998877?17=261231")
    assert by_urn == by_link
    assert (by_urn.gtin, by_urn.lot) == ("04012345123456", "998877")
    assert lot_class(lgtin(by_urn.gtin, by_urn.lot)) == by_urn
    assert epc_to_digital_link("urn:epc:id:sgln:0614141.00888.0") == (
        "https://id.gs1.org/414/0614141008889"
    )


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2023-01-18T11:04:03.1415Z", "2023-01-18T11:04:03.142Z"),
        ("2023-01-18T11:04:03.1414Z", "2023-01-18T11:04:03.141Z"),
        ("2023-01-18T12:04:03+01:00", "2023-01-18T11:04:03.000Z"),
        ("2023-01-18T11:04:03.9995Z", "2023-01-18T11:04:04.000Z"),
    ],
)
def test_times_are_written_in_utc_with_milliseconds(given: str, expected: str) -> None:
    assert utc_millis(given) == expected
