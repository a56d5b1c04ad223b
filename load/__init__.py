"""Lotledger load tests and benchmarks (`python -m load.bench NAME --json`)."""
