"""GS1 EPCIS 2.0: hash IDs, capture and query (GS1's documents in ``vendor/``)."""
