"""Readiness: whether this process can serve the ledger right now.

Three checks, each answered on its own so that an operator reads which one failed:

- ``database``: the database answers a query;
- ``migrations``: the schema is at every migration head this code ships (a process
  started against a database another version migrated, or one never migrated, is not
  ready);
- ``signing_key``: the log's signing key is loaded and signs (a fresh signature over a
  probe message verifies under its public key), so the next append gets a checkpoint.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ledger.log.service import Ledger
from ledger.storage.migrate import alembic_config
from verifier.errors import VerificationError

_PROBE = b"lotledger readiness probe"


@dataclass(frozen=True, slots=True)
class Check:
    """One readiness check: its name, whether it passed, and what a person should read."""

    name: str
    ok: bool
    detail: str
    seconds: float

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "ok": self.ok,
            "detail": self.detail,
            "ms": round(self.seconds * 1000, 2),
        }


@cache
def _shipped_heads() -> frozenset[str]:
    """The heads of the migrations this code ships (read from their files once)."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def _database(ledger: Ledger) -> tuple[bool, str]:
    try:
        with ledger.engine.connect() as conn:
            conn.execute(text("SELECT 1")).scalar_one()
    except SQLAlchemyError as exc:
        return False, f"the database does not answer: {type(exc).__name__}: {exc}".strip()
    return True, f"{ledger.engine.dialect.name} answers"


def _migrations(ledger: Ledger) -> tuple[bool, str]:
    try:
        with ledger.engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    except SQLAlchemyError as exc:
        return False, f"cannot read the schema version: {type(exc).__name__}"
    shipped = _shipped_heads()
    if current == shipped:
        return True, f"schema at {', '.join(sorted(shipped))}"
    if not current:
        return False, (
            "the database was never migrated: run lotledger init, or restart "
            "lotledger serve, which migrates"
        )
    missing = sorted(shipped - current)
    unknown = sorted(current - shipped)
    parts = []
    if missing:
        parts.append(
            f"migrations not applied: {', '.join(missing)}; restart lotledger serve, which migrates"
        )
    if unknown:
        parts.append(
            f"the database is at {', '.join(unknown)}, which this version does not ship "
            "(a newer version migrated it)"
        )
    return False, "; ".join(parts)


def _signing_key(ledger: Ledger) -> tuple[bool, str]:
    signer = getattr(ledger, "signer", None)
    if signer is None:
        return False, "no signing key is loaded"
    try:
        signer.verifier_key().verify(_PROBE, signer.sign(_PROBE))
    except (VerificationError, ValueError) as exc:
        return False, f"the signing key does not sign: {exc}"
    return True, f"key {signer.name}+{signer.key_id.hex()} loaded"


def readiness(ledger: Ledger) -> list[Check]:
    """Every readiness check, in order; a check after a failed database check still runs
    (its own failure then says what it could not read)."""
    checks = []
    for name, fn in (
        ("database", _database),
        ("migrations", _migrations),
        ("signing_key", _signing_key),
    ):
        started = time.perf_counter()
        ok, detail = fn(ledger)
        checks.append(Check(name, ok, detail, time.perf_counter() - started))
    return checks
