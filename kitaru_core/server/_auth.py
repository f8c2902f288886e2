"""Who is calling: a bearer token (API) or a dashboard session cookie (pages, streams).

A session cookie is HttpOnly and SameSite=Strict; a request that changes something with a
cookie must also carry the session's CSRF token (form field ``csrf`` or ``X-CSRF-Token``).
Sessions live in the server's memory and end when their token is revoked.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kitaru_core.server._tokens import check_token
from kitaru_core.store._store import Store

SESSION_COOKIE = "kitaru_session"
SESSION_SECONDS = 12 * 3600.0
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

bearer = HTTPBearer(auto_error=False, description="A token from `kitaru server token create`.")


@dataclass
class Session:
    """A signed-in dashboard browser."""

    token_id: str
    csrf: str
    expires_at: float


class Sessions:
    """Dashboard sessions by their random cookie value."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_id: dict[str, Session] = {}

    def open(self, token_id: str) -> tuple[str, Session]:
        """A new session for ``token_id``: ``(cookie value, session)``."""
        session = Session(token_id, secrets.token_urlsafe(24), time.time() + SESSION_SECONDS)
        cookie = secrets.token_urlsafe(32)
        with self._lock:
            self._by_id[cookie] = session
        return cookie, session

    def get(self, cookie: str | None) -> Session | None:
        """The live session of ``cookie``, if any."""
        if not cookie:
            return None
        with self._lock:
            session = self._by_id.get(cookie)
            if session is not None and session.expires_at < time.time():
                del self._by_id[cookie]
                session = None
        return session

    def close(self, cookie: str | None) -> None:
        """Forget a session (sign-out)."""
        with self._lock:
            self._by_id.pop(cookie or "", None)


@dataclass
class Caller:
    """An authenticated request: by token, by session (with its CSRF token), or unchecked."""

    token_id: str | None
    session: Session | None = None


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def caller_of(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Caller:
    """Check the request's bearer token or session cookie; 401 when neither is valid."""
    state = request.app.state
    if not state.auth:
        return Caller(None)
    store: Store = state.store
    if credentials is not None:
        record = check_token(store, credentials.credentials)
        if record is None:
            raise _unauthorized("The bearer token is unknown or revoked.")
        return Caller(record.token_id)
    session = state.sessions.get(request.cookies.get(SESSION_COOKIE))
    if session is not None:
        record = store.get_token(session.token_id)
        if record is None or record.revoked_at is not None:
            state.sessions.close(request.cookies.get(SESSION_COOKIE))
            session = None
    if session is None:
        raise _unauthorized(
            "Send `Authorization: Bearer TOKEN` (a token from `kitaru server token create`), "
            "or sign in at /login."
        )
    return Caller(session.token_id, session)


def require_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    """FastAPI dependency of every ``/api`` route; a cookie-authenticated change needs the
    session's CSRF token in ``X-CSRF-Token``."""
    caller = caller_of(request, credentials)
    if caller.session is not None and request.method in UNSAFE_METHODS:
        check_csrf(caller, request.headers.get("x-csrf-token"))
    return caller


def check_csrf(caller: Caller, sent: str | None) -> None:
    """403 unless ``sent`` is the caller's session CSRF token (callers by token need none)."""
    if caller.session is None:
        return
    if not sent or not hmac.compare_digest(sent, caller.session.csrf):
        raise HTTPException(403, detail="Missing or wrong CSRF token; reload the page.")
