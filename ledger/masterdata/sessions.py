"""Staff sessions for the scan pages: a random token that stands for an API key, never the key.

Signing in with a key (``start_session``) creates a token of 32 random bytes
(``ls_`` + 43 URL-safe base64 characters); the database keeps only its SHA-256, the
key's id, and when the session expires (``SESSION_SECONDS`` after sign-in). The token
travels in the session cookie. Every request looks the session up in the database
(``session_key``), joined with its key: an expired session, a signed-out one, or one
whose key has been revoked is gone at once, in every worker and after a restart, with
nothing cached in a process.

The pages' forms carry a CSRF token derived from the session token
(``csrf_token``: HMAC-SHA256 keyed by the token): only a page served to the holder of
the session cookie can know it, and ``csrf_matches`` checks it in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, delete, insert, select

from ledger.masterdata.keys import KeyInfo, authenticate
from ledger.storage.db import read_transaction, write_transaction
from ledger.storage.schema import ApiKey, StaffSession

#: How long a session lasts after sign-in (a shift and then some).
SESSION_SECONDS = 12 * 3600
PREFIX = "ls_"
_CSRF_CONTEXT = b"lotledger scan form v1"


@dataclass(frozen=True, slots=True)
class NewSession:
    """A fresh session: ``token`` goes in the cookie and is never stored."""

    token: str
    key: KeyInfo
    expires_at: int


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _well_formed(token: str) -> bool:
    return token.startswith(PREFIX) and len(token) <= 100 and token.isascii()


def start_session(
    engine: Engine, secret: str, *, now: float | None = None, seconds: int = SESSION_SECONDS
) -> NewSession | None:
    """A new session for the active key whose secret this is; None for an unknown, malformed
    or revoked key. Sessions that have expired are deleted on the way."""
    key = authenticate(engine, secret)
    if key is None:
        return None
    moment = int(time.time() if now is None else now)
    token = PREFIX + secrets.token_urlsafe(32)
    created = datetime.fromtimestamp(moment, UTC).isoformat().replace("+00:00", "Z")
    with write_transaction(engine) as conn:
        conn.execute(delete(StaffSession).where(StaffSession.expires_at <= moment))
        conn.execute(
            insert(StaffSession).values(
                token_hash=_digest(token),
                key_id=key.id,
                created_at=created,
                expires_at=moment + seconds,
            )
        )
    return NewSession(token, key, moment + seconds)


_KEY_COLUMNS = (
    ApiKey.id,
    ApiKey.org_id,
    ApiKey.role,
    ApiKey.last4,
    ApiKey.label,
    ApiKey.created_at,
    ApiKey.revoked_at,
)


def session_key(engine: Engine, token: str, *, now: float | None = None) -> KeyInfo | None:
    """The key a live session acts for; None when the token is unknown, the session has
    expired or ended, or its key has been revoked."""
    if not _well_formed(token):
        return None
    moment = int(time.time() if now is None else now)
    stmt = (
        select(*_KEY_COLUMNS)
        .join(StaffSession, StaffSession.key_id == ApiKey.id)
        .where(
            StaffSession.token_hash == _digest(token),
            StaffSession.expires_at > moment,
            ApiKey.revoked_at.is_(None),
        )
    )
    with read_transaction(engine) as conn:
        row = conn.execute(stmt).first()
    return None if row is None else KeyInfo(*row)


def end_session(engine: Engine, token: str) -> None:
    """Sign out: the session is deleted (nothing happens for an unknown token)."""
    if not _well_formed(token):
        return
    with write_transaction(engine) as conn:
        conn.execute(delete(StaffSession).where(StaffSession.token_hash == _digest(token)))


def csrf_token(token: str) -> str:
    """The CSRF token of the session whose token this is (hex HMAC-SHA256)."""
    return hmac.new(token.encode(), _CSRF_CONTEXT, hashlib.sha256).hexdigest()


def csrf_matches(token: str, sent: str) -> bool:
    """Whether ``sent`` is the CSRF token of the session ``token``."""
    return hmac.compare_digest(csrf_token(token).encode(), sent.encode("utf-8", "replace"))
