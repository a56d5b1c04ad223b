"""Lotledger: a traceability ledger, an append-only RFC 9162 log of supply-chain events.

The names most callers need are here; the rest live in the subpackages, one concern each
(``storage``, ``events``, ``lineage``, ``masterdata``, ``projections``, ``log``, ``trace``,
``inventory``, ``demo``), importing one way only, downward (tests/test_layers.py)::

    from ledger import Ledger, Settings, TraceStart, create_organisation
    from ledger.lineage.graph import trace

    ledger = Ledger.open(Settings.load())  # LOTLEDGER_DATA_DIR, LOTLEDGER_DATABASE_URL
    create_organisation(ledger.engine, "farm", "Green Farm")
    ledger.append(events, actor="farm")  # events: a list of event dicts
    result = trace(ledger.engine, [TraceStart("09506000134352", "L1")], "forward")

Inside the package modules import each other by full path (``ledger.log.service``), never
from this face, so importing any of them never runs into a half-initialised ``ledger``.
"""

from ledger.config import Settings
from ledger.errors import (
    ConfigurationError,
    EventValidationError,
    IdempotencyConflict,
    InvalidRange,
    LedgerError,
    LedgerNotFound,
    NotFound,
    Problem,
    RuleViolation,
)
from ledger.inventory.stock import location_stock
from ledger.lineage.graph import ProductRange, TraceResult, TraceStart
from ledger.log.export import write_export
from ledger.log.service import AppendResult, Ledger, Receipt
from ledger.masterdata.registry import create_location, create_organisation, create_product
from ledger.masterdata.terms import set_terms

__all__ = [
    "AppendResult",
    "ConfigurationError",
    "EventValidationError",
    "IdempotencyConflict",
    "InvalidRange",
    "Ledger",
    "LedgerError",
    "LedgerNotFound",
    "NotFound",
    "Problem",
    "ProductRange",
    "Receipt",
    "RuleViolation",
    "Settings",
    "TraceResult",
    "TraceStart",
    "create_location",
    "create_organisation",
    "create_product",
    "location_stock",
    "set_terms",
    "write_export",
]
