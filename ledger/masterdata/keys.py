"""API keys: random secrets stored only as SHA-256, each scoped to one organisation and role.

A key's secret is ``ll_`` followed by 43 URL-safe base64 characters (32 random
bytes). It is shown once, when created; the database keeps its SHA-256, the
last four characters (so people can tell keys apart in a listing), its
organisation, role, label and creation and revocation times.

Authentication is cached briefly per process: a key that authenticated is
remembered (by the SHA-256 of its secret, per engine) for ``AUTH_CACHE_SECONDS``,
so that a busy client does not cost a database query per request. Revoking a
key through ``revoke_key`` forgets it at once in the process that revoked it;
another process (a second API worker, the ``lotledger keys revoke`` command)
stops honouring it within ``AUTH_CACHE_SECONDS``. Unknown and revoked keys are
never cached.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select, update

from ledger.errors import EventValidationError, NotFound, Problem
from ledger.storage.db import read_transaction, write_transaction
from ledger.storage.schema import ApiKey, Organisation

ROLES = ("admin", "supplier", "warehouse", "store", "manager", "regulator")
PREFIX = "ll_"
#: How long a process keeps honouring a key it authenticated, without asking the database
#: again: the longest a key revoked in another process may still be accepted here.
AUTH_CACHE_SECONDS = 5.0
_AUTH_CACHE_MAX = 10_000  # keys remembered per engine; the cache is emptied when full


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What a key may do, without its secret."""

    id: str
    org_id: str
    role: str
    last4: str
    label: str | None
    created_at: str
    revoked_at: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class NewKey:
    """A freshly created key: ``secret`` is never stored and cannot be shown again."""

    info: KeyInfo
    secret: str


_COLUMNS = (
    ApiKey.id,
    ApiKey.org_id,
    ApiKey.role,
    ApiKey.last4,
    ApiKey.label,
    ApiKey.created_at,
    ApiKey.revoked_at,
)


def hash_secret(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def create_key(engine: Engine, org_id: str, role: str, label: str | None = None) -> NewKey:
    """Create a key for ``org_id`` with ``role``; the only time its secret is known."""
    if role not in ROLES:
        raise EventValidationError(
            [Problem(0, "role", f"{role!r} is not one of {', '.join(ROLES)}")]
        )
    if label is not None and len(label) > 200:
        raise EventValidationError([Problem(0, "label", "a label has at most 200 characters")])
    secret = PREFIX + secrets.token_urlsafe(32)
    info = KeyInfo(
        id="key_" + secrets.token_hex(8),
        org_id=org_id,
        role=role,
        last4=secret[-4:],
        label=label,
        created_at=_now(),
        revoked_at=None,
    )
    with write_transaction(engine) as conn:
        if conn.execute(select(Organisation.id).where(Organisation.id == org_id)).first() is None:
            raise NotFound(f"organisation {org_id!r} does not exist")
        conn.execute(
            insert(ApiKey).values(
                id=info.id,
                org_id=org_id,
                role=role,
                secret_hash=hash_secret(secret),
                last4=info.last4,
                label=label,
                created_at=info.created_at,
                revoked_at=None,
            )
        )
    return NewKey(info, secret)


class _KeyCache:
    """One engine's recently authenticated keys: secret hash -> (KeyInfo, valid until)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: dict[bytes, tuple[KeyInfo, float]] = {}
        # Bumped by every revocation: a lookup that raced one is not cached.
        self.generation = 0

    def get(self, digest: bytes, now: float) -> KeyInfo | None:
        hit = self.entries.get(digest)
        if hit is None or hit[1] <= now:
            return None
        return hit[0]

    def put(self, digest: bytes, info: KeyInfo, until: float, generation: int) -> None:
        with self.lock:
            if generation != self.generation:
                return
            if len(self.entries) >= _AUTH_CACHE_MAX:
                self.entries.clear()
            self.entries[digest] = (info, until)

    def forget(self, key_id: str) -> None:
        with self.lock:
            self.generation += 1
            stale = [d for d, (info, _) in self.entries.items() if info.id == key_id]
            for digest in stale:
                del self.entries[digest]


_caches: weakref.WeakKeyDictionary[Engine, _KeyCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def _cache(engine: Engine) -> _KeyCache:
    cache = _caches.get(engine)
    if cache is None:
        with _caches_lock:
            cache = _caches.setdefault(engine, _KeyCache())
    return cache


def cached_key(engine: Engine, secret: str) -> KeyInfo | None:
    """The key ``authenticate`` would answer, if this process remembers it; no I/O."""
    if not secret.startswith(PREFIX) or len(secret) > 100:
        return None
    return _cache(engine).get(hash_secret(secret), time.monotonic())


def authenticate(engine: Engine, secret: str, *, now: float | None = None) -> KeyInfo | None:
    """The active key whose secret this is, or None (unknown, malformed or revoked).

    Served from this process's cache when the key authenticated less than
    ``AUTH_CACHE_SECONDS`` ago (``now`` is a ``time.monotonic()`` reading).
    """
    if not secret.startswith(PREFIX) or len(secret) > 100:
        return None
    moment = time.monotonic() if now is None else now
    digest = hash_secret(secret)
    cache = _cache(engine)
    info = cache.get(digest, moment)
    if info is not None:
        return info
    generation = cache.generation
    with read_transaction(engine) as conn:
        row = conn.execute(select(*_COLUMNS).where(ApiKey.secret_hash == digest)).first()
    if row is None:
        return None
    info = KeyInfo(*row)
    if not info.active:
        return None
    cache.put(digest, info, moment + AUTH_CACHE_SECONDS, generation)
    return info


def list_keys(engine: Engine, org_id: str | None = None) -> list[KeyInfo]:
    """Every key (of one organisation, if given), oldest first, revoked ones included."""
    stmt = select(*_COLUMNS).order_by(ApiKey.created_at, ApiKey.id)
    if org_id is not None:
        stmt = stmt.where(ApiKey.org_id == org_id)
    with read_transaction(engine) as conn:
        return [KeyInfo(*row) for row in conn.execute(stmt)]


def get_key(engine: Engine, key_id: str) -> KeyInfo:
    with read_transaction(engine) as conn:
        row = conn.execute(select(*_COLUMNS).where(ApiKey.id == key_id)).first()
    if row is None:
        raise NotFound(f"API key {key_id!r} does not exist")
    return KeyInfo(*row)


def revoke_key(engine: Engine, key_id: str) -> KeyInfo:
    """Revoke a key (idempotent: revoking a revoked key keeps its first revocation time).

    Refused at once by this process; by others within ``AUTH_CACHE_SECONDS``.
    """
    with write_transaction(engine) as conn:
        conn.execute(
            update(ApiKey)
            .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
            .values(revoked_at=_now())
        )
    _cache(engine).forget(key_id)
    return get_key(engine, key_id)


#: Event types that only some roles may record through the event API; every other
#: type is open to every writer role (the ledger still checks whose location it is).
RESTRICTED_EVENT_TYPES: dict[str, tuple[str, ...]] = {
    # Approving an order over the buyer's limit is a manager's decision (issue 7).
    "order_approved": ("manager",),
}


def forbidden_event(role: str, raw_events: Sequence[object]) -> str | None:
    """Why ``role`` may not record one of ``raw_events``, or None when it may."""
    for index, event in enumerate(raw_events):
        etype = event.get("type") if isinstance(event, dict) else None
        allowed = RESTRICTED_EVENT_TYPES.get(etype) if isinstance(etype, str) else None
        if allowed is not None and role not in allowed:
            return (
                f"event {index}: a {role} key may not record {etype} events "
                f"(roles: {', '.join(allowed)})"
            )
    return None
