"""The database: migrations and SQLite's WAL."""
