"""The service's scheduled fetch: each source every `exchange_fetch_minutes`, with back-off after failures.

Every worker runs a scheduler; the per-source lease in the database lets exactly one of them (or a
cron `indexguard banks fetch`) fetch a source at a time. Status comes from the database, so every
worker reports the same figures whoever fetched.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from indexguard.crypto import Cipher
from indexguard.exchanges import sources
from indexguard.exchanges.fetch import FetchOutcome, fetch_source, utc
from indexguard.exchanges.sources import Credentials, SourceConfig
from indexguard.store.exchange_models import ExchangeState

MIN_BACKOFF_SECONDS = 60.0


@dataclass(frozen=True)
class SourceStatus:
    source: str
    api: str
    bank: str
    records: int
    last_attempt: datetime | None
    last_success: datetime | None
    last_error: str | None
    failures: int
    list_number: int | None
    list_version: str | None
    fetching: bool

    def to_json(self) -> dict[str, Any]:
        def ts(t: datetime | None) -> str | None:
            return t.isoformat() if t else None

        return {
            "source": self.source,
            "api": self.api,
            "bank": self.bank,
            "records": self.records,
            "last_attempt": ts(self.last_attempt),
            "last_success": ts(self.last_success),
            "last_error": self.last_error,
            "consecutive_failures": self.failures,
            "list_number": self.list_number,
            "list_version": self.list_version,
            "fetching": self.fetching,
        }


def status(
    factory: sessionmaker[Session], configs: list[SourceConfig], now: datetime | None = None
) -> list[SourceStatus]:
    """One status per configured source (never fetched yet: zeros)."""
    now = now or datetime.now(UTC)
    with factory() as s:
        rows = {r.source: r for r in s.scalars(select(ExchangeState))}
    out = []
    for c in configs:
        r = rows.get(c.name)
        lease = utc(r.lease_until) if r else None
        out.append(
            SourceStatus(
                c.name, c.api, c.bank,
                r.records if r else 0,
                utc(r.last_attempt) if r else None,
                utc(r.last_success) if r else None,
                r.last_error if r else None,
                r.failures if r else 0,
                r.list_number if r else None,
                r.list_version if r else None,
                bool(r and r.lease_owner and lease and lease > now),
            )
        )  # fmt: skip
    return out


def due(st: SourceStatus, interval_s: float, now: datetime) -> bool:
    """Fetch when never tried, when the interval passed since the last try, or sooner after a failure
    (1, 2, 4 ... minutes, never longer than the interval)."""
    if st.fetching:
        return False
    if st.last_attempt is None:
        return True
    wait = interval_s if st.failures == 0 else min(interval_s, MIN_BACKOFF_SECONDS * 2 ** (st.failures - 1))
    return (now - st.last_attempt).total_seconds() >= wait


def owner_name(kind: str) -> str:
    return f"{kind}:{socket.gethostname()[:30]}:{os.getpid()}"


def run_source(
    factory: sessionmaker[Session], cipher: Cipher, cfg: SourceConfig, creds: Credentials, owner: str
) -> FetchOutcome:
    """One fetch; a new bank version is audited in the transaction that stores it (never with a
    credential or a hash)."""
    return fetch_source(factory, cipher, cfg, creds, owner=owner)


class ExchangeScheduler:
    def __init__(
        self,
        factory: sessionmaker[Session],
        cipher: Cipher,
        configs: list[SourceConfig],
        creds: Credentials,
        interval_minutes: float,
        on_status: Callable[[list[SourceStatus]], None] | None = None,
        tick_seconds: float = 30.0,
    ) -> None:
        self._factory, self._cipher, self._configs, self._creds = factory, cipher, configs, creds
        self._interval = interval_minutes * 60.0
        self._on_status = on_status
        self._tick = tick_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._owner = owner_name("service")
        self.last_outcomes: dict[str, FetchOutcome] = {}

    def tick(self, now: datetime | None = None) -> list[FetchOutcome]:
        now = now or datetime.now(UTC)
        done = []
        for st, cfg in zip(status(self._factory, self._configs, now), self._configs, strict=True):
            if self._interval > 0 and due(st, self._interval, now):
                try:
                    out = run_source(self._factory, self._cipher, cfg, self._creds, self._owner)
                except sources.ExtraMissing as e:
                    out = FetchOutcome(cfg.name, ok=False, error=str(e))
                self.last_outcomes[cfg.name] = out
                done.append(out)
        if self._on_status is not None:
            self._on_status(status(self._factory, self._configs))
        return done

    def _run(self) -> None:
        while not self._stop.wait(self._tick):
            try:
                self.tick()
            except Exception:  # a database hiccup must not end the scheduler; the next tick retries
                continue

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="indexguard-exchanges", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
