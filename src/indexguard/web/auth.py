"""Who is calling, and may they? API keys (Authorization: Bearer / X-API-Key) or a session cookie."""

from __future__ import annotations

import logging
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
log = logging.getLogger(__name__)


class KeyCache:
    """API-key lookups cached briefly per worker, so screening does not hit the database per call.
    A revoked key stops working within `ttl` seconds.

    An entry in use is looked up again in the background once it is half its `ttl` old, while the
    hot path keeps answering from memory: were it left to expire, every request in flight at that
    moment would wait on the database together (on PostgreSQL that stalled a busy worker for up to
    2.5 s every `ttl`). Lookups that do have to wait (first use, or an entry nobody used for `ttl`)
    are single-flight per token: one query, the others wait for its answer."""

    def __init__(self, factory: sessionmaker[Session], ttl: float) -> None:
        self._factory = factory
        self._ttl = ttl
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, float, Principal | None]] = {}  # token: (fetched, expires, who)
        self._flights: dict[str, threading.Lock] = {}
        self._refreshing: set[str] = set()

    def cached(self, token: str) -> tuple[bool, Principal | None]:
        """(found, principal) from memory only: the hot path never waits on the database."""
        hit = self._cache.get(token)
        if hit is None:
            return False, None
        now = time.monotonic()
        if hit[1] <= now:
            return False, None
        if now - hit[0] >= self._ttl / 2:
            self._refresh_soon(token)
        return True, hit[2]

    def lookup(self, token: str) -> Principal | None:
        found, p = self.cached(token)
        if found:
            return p
        with self._lock:
            flight = self._flights.setdefault(token, threading.Lock())
        with flight:
            found, p = self.cached(token)  # another caller may have fetched it while this one waited
            if not found:
                p = self._fetch(token)
        with self._lock:
            self._flights.pop(token, None)
        return p

    def _fetch(self, token: str) -> Principal | None:
        now = time.monotonic()
        with self._factory() as s:
            p = accounts.key_principal(s, token)
        with self._lock:
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            self._cache[token] = (now, now + self._ttl, p)
        return p

    def _refresh_soon(self, token: str) -> None:
        with self._lock:
            if token in self._refreshing:
                return
            self._refreshing.add(token)
        threading.Thread(target=self._refresh, args=(token,), name="indexguard-key-refresh", daemon=True).start()

    def _refresh(self, token: str) -> None:
        try:
            self._fetch(token)
        except Exception:  # the entry still expires on time; the next wait for it reports the error
            log.warning("background API-key lookup failed", exc_info=True)
        finally:
            with self._lock:
                self._refreshing.discard(token)


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
