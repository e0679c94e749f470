"""Who is calling, and may they? API keys (Authorization: Bearer / X-API-Key) or a session cookie."""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request
from fastapi.concurrency import run_in_threadpool
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

    def cached(self, token: str) -> tuple[bool, Principal | None]:
        """(found, principal) from memory only: the hot path never waits on the database."""
        hit = self._cache.get(token)
        if hit is not None and hit[0] > time.monotonic():
            return True, hit[1]
        return False, None

    def lookup(self, token: str) -> Principal | None:
        found, p = self.cached(token)
        if found:
            return p
        now = time.monotonic()
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
    """Blocking lookup, for code already off the event loop."""
    svc = request.app.state.services
    token = _bearer(request)
    if token:
        return svc.keys.lookup(token)  # type: ignore[no-any-return]
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        with svc.sessions() as s:
            return accounts.session_principal(s, cookie)
    return None


async def principal_async(request: Request) -> Principal | None:
    token = _bearer(request)
    if token:
        found, p = request.app.state.services.keys.cached(token)
        if found:
            return p  # type: ignore[no-any-return]
    return await run_in_threadpool(principal, request)


def require(scope: str) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency: the caller must be authenticated and hold `scope` (keys) or a role granting it.
    Session callers must also send the session's CSRF token on state-changing requests."""

    async def dependency(request: Request) -> Principal:
        p = await principal_async(request)
        if p is None:
            raise HTTPException(401, "authentication required", headers={"WWW-Authenticate": "Bearer"})
        if p.must_change_password:
            raise HTTPException(403, "change your one-time password first (GET /password)")
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


async def require_admin_user(request: Request) -> Principal:
    """Reveal of list text: a signed-in person with the admin role, never a machine key."""
    p = await require("admin")(request)
    if p.kind != "user" or p.role != "admin":
        raise HTTPException(403, "revealing list text requires a signed-in user with the admin role")
    return p
