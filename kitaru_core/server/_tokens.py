"""Bearer tokens of the server: made with ``secrets``, stored as SHA-256 digests, checked in
constant time. A token reads ``kitaru_<token id>_<secret>``; only its digest is stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from kitaru_core.errors import KitaruError
from kitaru_core.store._records import TokenRecord
from kitaru_core.store._store import Store

PREFIX = "kitaru_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(store: Store, name: str) -> tuple[TokenRecord, str]:
    """A new token: its record (digest only) and the token, shown once to its creator."""
    if not name or len(name) > 200:
        raise KitaruError("A token needs a name of 1 to 200 characters (e.g. --name ci).")
    token_id = secrets.token_hex(6)
    token = f"{PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    record = TokenRecord(token_id, name, _digest(token), time.time())
    store.create_token(record)
    return record, token


def check_token(store: Store, token: str | None) -> TokenRecord | None:
    """The live token record ``token`` belongs to, or None (unknown, malformed or revoked)."""
    if not token or not token.startswith(PREFIX):
        return None
    token_id, _, secret = token[len(PREFIX) :].partition("_")
    if not token_id or not secret:
        return None
    record = store.get_token(token_id)
    expected = record.digest if record is not None else _digest("no such token")
    matches = hmac.compare_digest(expected, _digest(token))
    if record is None or not matches or record.revoked_at is not None:
        return None
    return record


def revoke_token(store: Store, token_id: str) -> None:
    """Revoke a token by id (as ``kitaru server token list`` shows it)."""
    if not store.revoke_token(token_id, at=time.time()):
        raise KitaruError(
            f"No live token with id {token_id!r}. See the ids with `kitaru server token list`."
        )
