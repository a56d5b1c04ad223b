"""Lotledger's domain core: events, the hash-chained Merkle log, storage, read models."""
