"""The demo ledger: the traceability story (``data``) and a season of stock and orders
(``inventory``)."""
