"""The append-only log: the ``Ledger`` service (``service``), proof plans and node fetching
(``tree``), checkpoint signing (``signing``), the group-committing writer
(``group_commit``), witness cosignatures (``witnessing``), the log export and provenance
bundles (``export``) and the readiness check (``health``)."""
