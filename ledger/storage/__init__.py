"""The database: the engine and transactions (``db``), Core bulk helpers (``bulk``), every
table of the read models and the log (``schema``), and the alembic migrations with their
runner (``migrate``, ``migrations/``). It knows no rule."""
