"""Organisations, locations, products, terms, keys."""
