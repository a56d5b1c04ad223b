"""Event models and identifiers."""
