"""The events a ledger records: their models and batch validation (``models``), the master data
filled in at append time (``completion``) and the small pure rules other packages share
(``rules``: approval limit, order value, ended order statuses)."""
