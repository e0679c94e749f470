"""The per-worker API-key cache: keys in use are looked up again before they expire (the hot path never
waits on the database for them), cold lookups are single-flight, and revocation still takes effect
within `key_cache_seconds`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from ig_service_helpers import settings_for
from sqlalchemy.orm import Session

from indexguard.store import accounts
from indexguard.web.app import build_services
from indexguard.web.auth import KeyCache
from indexguard.web.deps import Services


class CountingFactory:
    """The service's session factory, counting sessions opened (one per key lookup), optionally slow."""

    def __init__(self, svc: Services, delay: float = 0.0) -> None:
        self._svc, self._delay = svc, delay
        self.opened = 0
        self.unreachable = False  # set: every session fails, as with the database gone
        self._lock = threading.Lock()

    @contextmanager
    def __call__(self) -> Iterator[Session]:
        with self._lock:
            self.opened += 1
        time.sleep(self._delay)
        if self.unreachable:
            raise RuntimeError("database unreachable")
        with self._svc.sessions() as s:
            yield s


@pytest.fixture
def svc_key(db_url: str) -> Iterator[tuple[Services, str]]:
    svc = build_services(settings_for(db_url))
    with svc.sessions() as s, s.begin():
        token = accounts.create_api_key(s, "cache-test", ["screen"], "tests")
    yield svc, token


def _until(cond: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return False


def test_a_key_in_use_is_refreshed_before_it_expires(svc_key: tuple[Services, str]) -> None:
    svc, token = svc_key
    factory = CountingFactory(svc)
    cache = KeyCache(factory, ttl=0.6)  # type: ignore[arg-type]
    p = cache.lookup(token)
    assert p is not None and "screen" in p.scopes and factory.opened == 1
    time.sleep(0.35)  # past half the ttl: the next hit answers from memory and refreshes behind it
    found, again = cache.cached(token)
    assert found and again == p
    assert _until(lambda: factory.opened == 2), "no background refresh"
    time.sleep(0.4)  # past the first lookup's expiry: the refreshed entry still answers from memory
    found, _ = cache.cached(token)
    assert found
    assert factory.opened in (2, 3)  # at most one more refresh, never a wait


def test_cold_lookups_of_one_key_query_once(svc_key: tuple[Services, str]) -> None:
    svc, token = svc_key
    factory = CountingFactory(svc, delay=0.2)
    cache = KeyCache(factory, ttl=30)  # type: ignore[arg-type]
    results: list[object] = []
    threads = [threading.Thread(target=lambda: results.append(cache.lookup(token))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert factory.opened == 1
    assert len(results) == 8 and all(r is not None and r == results[0] for r in results)
    assert cache.lookup("igk_nothing_here") is None and factory.opened == 2  # unknown keys are cached too


def test_a_revoked_key_stops_within_the_ttl_while_in_constant_use(svc_key: tuple[Services, str]) -> None:
    svc, token = svc_key
    ttl = 0.5
    cache = KeyCache(svc.sessions, ttl=ttl)
    assert cache.lookup(token) is not None
    with svc.sessions() as s, s.begin():
        assert accounts.revoke_api_key(s, token.split("_")[1])
    revoked_at = time.monotonic()
    while cache.lookup(token) is not None:  # the hot path: called back to back, as a busy worker would
        assert time.monotonic() - revoked_at <= ttl + 0.25, "revoked key still accepted after the ttl"
        time.sleep(0.005)


def test_a_failed_background_refresh_leaves_the_expiry_in_force(svc_key: tuple[Services, str]) -> None:
    svc, token = svc_key
    factory = CountingFactory(svc)
    cache = KeyCache(factory, ttl=0.4)  # type: ignore[arg-type]
    assert cache.lookup(token) is not None
    factory.unreachable = True  # the database goes away after the first lookup
    time.sleep(0.25)
    assert cache.cached(token)[0]  # still within the ttl: answered, refresh attempted and failed
    time.sleep(0.25)
    assert cache.cached(token) == (False, None)  # expired: the next caller must wait on the database
    with pytest.raises(RuntimeError):
        cache.lookup(token)
