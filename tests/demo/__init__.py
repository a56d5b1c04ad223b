"""The demo ledger."""
