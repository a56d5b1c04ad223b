"""GS1 EPCIS 2.0: a second front door onto the log and a second view of it, not a second store.

- ``identifiers``: EPC URIs and GS1 Digital Link URIs (LGTIN, SGTIN, SGLN, SSCC, PGLN).
- ``vocabulary``: CBV 2.0 bare words and their Web URIs; units of measure.
- ``event_hash``: the CBV 2.0 event hash ID (``ni:///sha-256;...?ver=CBV2.0``).
- ``mapping``: EPCIS events to our events and back, a table per event type.
- ``document``: schema validation of a whole EPCIS document.
- ``capture``: a document becomes one atomic append; capture jobs record the outcome.
- ``query``: the EPCIS query parameters over the log and the read models.
"""
