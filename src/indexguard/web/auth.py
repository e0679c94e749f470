"""Who is calling, and may they? API keys (Authorization: Bearer / X-API-Key) or a session cookie."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from fastapi import HTTPException, Request
from sqlalchemy.orm import Session, sessionmaker

from indexguard.store import accounts
from indexguard.store.accounts import Principal

SESSION_COOKIE = "ig_session"
_UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_CACHE_MAX = 10_000


class KeyCache:
    """API-key lookups cached briefly per worker, so screening does not hit the database per call.
    A revoked key stops working within `ttl` seconds."""

    def __init__(self, factory: sessionmaker[Session], ttl: float) -> None:
        self._factory = factory
        self._ttl = ttl
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, Principal | None]] = {}

    def lookup(self, token: str) -> Principal | None:
        now = time.monotonic()
        hit = self._cache.get(token)
        if hit is not None and hit[0] > now:
            return hit[1]
        with self._factory() as s:
            p = accounts.key_principal(s, token)
        with self._lock:
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            self._cache[token] = (now + self._ttl, p)
        return p


def _bearer(request: Request) -> str | None:
    h = request.headers.get("authorization")
    if h and h[:7].lower() == "bearer ":
        return h[7:].strip()
    return request.headers.get("x-api-key")


def principal(request: Request) -> Principal | None:
    from indexguard.web.deps import services

    svc = services(request)
    token = _bearer(request)
    if token:
        return svc.keys.lookup(token)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        with svc.sessions() as s:
            return accounts.session_principal(s, cookie)
    return None


def require(scope: str) -> Callable[[Request], Principal]:
    """A dependency: the caller must be authenticated and hold `scope` (keys) or a role granting it.
    Session callers must also send the session's CSRF token on state-changing requests."""

    def dependency(request: Request) -> Principal:
        p = principal(request)
        if p is None:
            raise HTTPException(401, "authentication required", headers={"WWW-Authenticate": "Bearer"})
        if scope not in p.scopes:
            who = f"role {p.role}" if p.kind == "user" else "this API key"
            raise HTTPException(403, f"{who} lacks the {scope!r} permission")
        if p.kind == "user" and request.method in _UNSAFE:
            from indexguard.web.csrf import check_session_csrf

            check_session_csrf(request, p)
        request.state.principal = p
        return p

    dependency.__name__ = f"require_{scope}"
    return dependency


def require_admin_user(request: Request) -> Principal:
    """Reveal of list text: a signed-in person with the admin role, never a machine key."""
    p = require("admin")(request)
    if p.kind != "user" or p.role != "admin":
        raise HTTPException(403, "revealing list text requires a signed-in user with the admin role")
    return p
