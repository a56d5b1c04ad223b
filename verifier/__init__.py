"""Lotledger's standalone verifier.

Pure checks a third party can run without trusting the server: canonical bytes,
RFC 9162 leaf and node hashing, inclusion and consistency proofs, C2SP signed
notes and checkpoints. Imports only the standard library, ``cryptography`` and
``rfc8785``.
"""
