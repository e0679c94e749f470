"""Counting without watching: a session is known by a keyed hash of the site's opaque reference, with
a key that changes every UTC day, and nothing else. The reference itself, the address and the query
text never reach this module's storage, its logs or its counters.

Events are applied behind the response by one thread per process, in batches; when the queue is
full the caller applies its event itself, so nothing is dropped and nothing blocks for long.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from indexguard.crypto import Cipher
from indexguard.screen.deterrence import Shown
from indexguard.settings import Settings
from indexguard.store import deterrence_repo as repo
from indexguard.store.deterrence_repo import DeterrenceEvent

log = logging.getLogger("indexguard.deterrence")
MAX_REFERENCE = 512
_BATCH = 1_000
_PURGE_EVERY = 60.0


@dataclass(frozen=True, slots=True)
class SessionTag:
    """A session as the counters know it: the day's keyed hash, and its bucket in [0, 1) for variants."""

    hash: str
    bucket: float


@dataclass(frozen=True, slots=True)
class Click:
    locale: str
    variant: str
    country: str
    link: int


class DeterrenceCounter:
    def __init__(
        self,
        factory: sessionmaker[Session],
        key: bytes,
        *,
        window: timedelta = timedelta(minutes=30),
        keep: timedelta = timedelta(hours=6),
        capacity: int = 100_000,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if keep < window:
            raise ValueError("session state must be kept at least as long as the repeat window")
        self._factory = factory
        self._key = key
        self.window = window
        self.keep = keep
        self._clock = clock
        self._q: queue.Queue[DeterrenceEvent] = queue.Queue(capacity)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._idle = threading.Condition()
        self._pending = 0
        self._last_purge = 0.0

    # -- on the request path: hashing only -------------------------------------------------------

    def tag(self, reference: str | None) -> SessionTag | None:
        """The day's tag of a site's session reference; None without one (nothing is then per session)."""
        if not reference:
            return None
        day = self._clock().date().isoformat().encode()
        day_key = hmac.new(self._key, b"deterrence-day|" + day, hashlib.sha256).digest()
        h = hmac.new(day_key, reference[:MAX_REFERENCE].encode("utf-8", "replace"), hashlib.sha256).hexdigest()
        return SessionTag(h[:32], int(h[32:45], 16) / float(16**13))

    def searched(self, tag: SessionTag | None, shown: Shown | None, categories: tuple[str, ...] = ()) -> None:
        """A search: `shown` is the warning it got, None when it was allowed."""
        if tag is None and shown is None:
            return  # an allowed search without a session counts for nothing
        self._submit(DeterrenceEvent(
            "search", tag.hash if tag else "", self._clock(), shown is not None,
            shown.variant.id if shown else "", shown.locale if shown else "", tuple(sorted(set(categories))),
        ))  # fmt: skip

    def link_token(self, tag: SessionTag | None, shown: Shown, index: int) -> str:
        """The opaque, signed part of a help link's counting redirect."""
        body = f"{shown.locale}|{shown.variant.id}|{shown.country}|{index}|{tag.hash if tag else ''}".encode()
        mac = hmac.new(self._key, b"deterrence-link|" + body, hashlib.sha256).digest()[:12]
        return (base64.urlsafe_b64encode(body).decode().rstrip("=") + "." +
                base64.urlsafe_b64encode(mac).decode().rstrip("="))  # fmt: skip

    def clicked(self, token: str) -> Click | None:
        """Count a help-link click from its token; None for a token this key never signed."""
        body_b64, _, mac_b64 = token.partition(".")
        try:
            body = base64.urlsafe_b64decode(body_b64 + "=" * (-len(body_b64) % 4))
            mac = base64.urlsafe_b64decode(mac_b64 + "=" * (-len(mac_b64) % 4))
        except (ValueError, TypeError):
            return None
        good = hmac.new(self._key, b"deterrence-link|" + body, hashlib.sha256).digest()[:12]
        if len(token) > 400 or not hmac.compare_digest(mac, good):
            return None
        try:
            locale, variant, country, index, session = body.decode().split("|")
            click = Click(locale, variant, country, int(index))
        except ValueError:
            return None
        self._submit(DeterrenceEvent("click", session, self._clock(), variant=variant, locale=locale))
        return click

    # -- behind the response ---------------------------------------------------------------------

    def _submit(self, ev: DeterrenceEvent) -> None:
        if self._thread is None:
            self._apply([ev])
            return
        try:
            self._q.put_nowait(ev)
            with self._idle:
                self._pending += 1
        except queue.Full:
            self._apply([ev])  # back-pressure: never drop a count

    def _apply(self, events: list[DeterrenceEvent]) -> None:
        with self._factory() as s, s.begin():
            repo.apply(s, events, self.window, self.keep)

    def purge(self, now: datetime | None = None) -> int:
        """Delete expired session state now; aggregates stay."""
        with self._factory() as s, s.begin():
            return repo.purge(s, now or self._clock())

    def _run(self) -> None:
        while not (self._stop.is_set() and self._q.empty()):
            events: list[DeterrenceEvent] = []
            try:
                events.append(self._q.get(timeout=0.2))
                while len(events) < _BATCH:
                    events.append(self._q.get_nowait())
            except queue.Empty:
                pass
            if events:
                self._write(events)
            if time.monotonic() - self._last_purge > _PURGE_EVERY:
                self._last_purge = time.monotonic()
                try:
                    self.purge()
                except Exception:
                    log.exception("purging expired deterrence sessions failed; will retry")

    def _write(self, events: list[DeterrenceEvent]) -> None:
        delay = 0.1
        while True:
            try:
                self._apply(events)
                break
            except Exception:
                log.exception("writing %d deterrence events failed; retrying", len(events))
                if self._stop.is_set() and delay > 2:
                    log.error("gave up on %d deterrence events at shutdown", len(events))
                    break
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
        with self._idle:
            self._pending -= len(events)
            self._idle.notify_all()

    def flush(self, timeout: float = 10.0) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="indexguard-deterrence", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)


def counter_for(settings: Settings, factory: sessionmaker[Session], cipher: Cipher) -> DeterrenceCounter:
    """The counter the service uses, keyed from the service key (the key never sits beside the counts)."""
    return DeterrenceCounter(
        factory,
        cipher.subkey("deterrence-session"),
        window=timedelta(minutes=settings.deterrence_window_minutes),
        keep=timedelta(hours=settings.deterrence_keep_hours),
    )


def counter_from_settings(settings: Settings) -> DeterrenceCounter:
    """A counter for the web middleware inside a site's own process: the service's database and key
    (from `key_file` or INDEXGUARD_KEY), so its help links work through the service's redirect."""
    from indexguard.crypto import resolve_key
    from indexguard.store import db

    engine = db.make_engine(settings.database_url)
    key = resolve_key(settings.key_file, db.sqlite_path(settings.database_url), create=False)
    return counter_for(settings, db.session_factory(engine), Cipher(key.key))
