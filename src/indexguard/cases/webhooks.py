"""Signed webhooks: decision and case events delivered to a site's endpoints.

Wire format (one POST per event and endpoint, body = the event as compact JSON):

    Content-Type: application/json
    Indexguard-Event-Id: 3f0c…            (also in the body as "id")
    Indexguard-Event-Type: decision.block
    Indexguard-Signature: t=1718000000,v1=<hex HMAC-SHA256(secret, "<t>." + body)>

Several `v1=` values appear while a secret is being rotated (one per active secret). A receiver
verifies the HMAC in constant time, refuses a timestamp outside the tolerance window (default
5 minutes) and refuses an event id it has already accepted inside that window (`ReplayCache`).

Delivery goes through an outbox (SQLite; a file or `:memory:`): each event is stored per endpoint,
tried, retried with exponential backoff and jitter, and moved to the dead letters after the last
attempt; dead letters can be listed and retried.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from indexguard.errors import IndexguardError
from indexguard.screen.decision import Decision
from indexguard.settings import Settings

Notify = Callable[[list[tuple[str, dict[str, Any]]]], None]  # (event type, data) pairs, as cases.service emits

SIGNATURE_HEADER = "Indexguard-Signature"
EVENT_ID_HEADER = "Indexguard-Event-Id"
EVENT_TYPE_HEADER = "Indexguard-Event-Type"
DEFAULT_TOLERANCE = 300
MAX_BODY_BYTES = 1024 * 1024


class WebhookVerificationError(IndexguardError):
    """A webhook request that must not be acted on; the message says why (never the secret)."""


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    type: str
    data: dict[str, Any]
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created: int = field(default_factory=lambda: int(time.time()))

    def body(self) -> bytes:
        obj = {"id": self.id, "type": self.type, "created": self.created, "data": self.data}
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def decision_event(decision: Decision, *, item_id: str | None = None, event_type: str | None = None) -> WebhookEvent:
    """`decision.<action>` with the Decision JSON; matched term text (`detail`) is never sent."""
    data = decision.to_json()
    for r in data.get("reasons", []):
        r.pop("detail", None)
    data.pop("deterrence", None)
    if item_id is not None:
        data["item"] = item_id
    return WebhookEvent(event_type or f"decision.{decision.action}", data)


def case_event(event_type: str, data: dict[str, Any]) -> WebhookEvent:
    """A case event (`case.opened`, `case.closed`, `takedown.requested`, …) with caller data."""
    return WebhookEvent(event_type, dict(data))


# --- signing and verification ---------------------------------------------------------------


def _mac(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secrets: str | Sequence[str], body: bytes, timestamp: int | None = None) -> str:
    """The Indexguard-Signature header value for `body`."""
    ts = int(time.time()) if timestamp is None else int(timestamp)
    keys = [secrets] if isinstance(secrets, str) else list(secrets)
    return ",".join([f"t={ts}", *(f"v1={_mac(k, ts, body)}" for k in keys)])


def parse_signature(header: str) -> tuple[int, list[str]]:
    ts: int | None = None
    macs: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit() and len(value) <= 12:
            ts = int(value)
        elif key == "v1" and len(value) == 64:
            macs.append(value.lower())
    if ts is None or not macs:
        raise WebhookVerificationError("malformed signature header (want t=<unix time>,v1=<hex>)")
    return ts, macs


class ReplayCache:
    """Event ids accepted recently; an id seen again inside its window is a replay. Thread-safe,
    bounded: expired ids are dropped as new ones arrive."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self.max_entries = max_entries
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def check_and_add(self, event_id: str, expires_at: float, now: float) -> bool:
        """True when the id is new (and is now remembered); False for a replay."""
        with self._lock:
            exp = self._seen.get(event_id)
            if exp is not None and exp > now:
                return False
            if len(self._seen) >= self.max_entries:
                self._seen = {k: v for k, v in self._seen.items() if v > now}
                if len(self._seen) >= self.max_entries:
                    raise WebhookVerificationError("replay cache full; refusing until old ids expire")
            self._seen[event_id] = expires_at
            return True


def verify(
    secrets: str | Sequence[str],
    body: bytes,
    signature_header: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    replay_cache: ReplayCache | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """Check a delivery and return the event (`id`, `type`, `created`, `data`). Raises
    WebhookVerificationError when the signature, the time or the id is not acceptable."""
    if len(body) > MAX_BODY_BYTES:
        raise WebhookVerificationError(f"body of {len(body)} bytes exceeds {MAX_BODY_BYTES}")
    ts, macs = parse_signature(signature_header)
    keys = [secrets] if isinstance(secrets, str) else list(secrets)
    expected = [_mac(k, ts, body) for k in keys]
    if not any(hmac.compare_digest(e, m) for e in expected for m in macs):
        raise WebhookVerificationError("signature does not match")
    t_now = time.time() if now is None else now
    if abs(t_now - ts) > tolerance:
        raise WebhookVerificationError(f"timestamp outside the {tolerance}s tolerance window")
    try:
        event = json.loads(body)
    except ValueError:
        raise WebhookVerificationError("body is not JSON") from None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not event["id"]:
        raise WebhookVerificationError("event has no id")
    if replay_cache is not None and not replay_cache.check_and_add(event["id"], ts + tolerance, t_now):
        raise WebhookVerificationError("event id already received (replay)")
    return event


# --- delivery ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Endpoint:
    name: str
    url: str
    secrets: tuple[str, ...]  # the first signs; all sign while rotating

    @classmethod
    def of(cls, name: str, url: str, secret: str) -> Endpoint:
        return cls(name, url, (secret,))


@dataclass(frozen=True, slots=True)
class Delivery:
    id: str
    event_id: str
    event_type: str
    endpoint: str
    status: str  # pending | delivered | dead
    attempts: int
    next_attempt: float
    last_error: str | None
    created: float


_SCHEMA = """
CREATE TABLE IF NOT EXISTS webhook_outbox (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    body BLOB NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL,
    last_error TEXT,
    created REAL NOT NULL,
    delivered REAL
);
CREATE INDEX IF NOT EXISTS webhook_outbox_due ON webhook_outbox (status, next_attempt);
"""
_COLUMNS = "id, event_id, event_type, endpoint, status, attempts, next_attempt, last_error, created"


class Outbox:
    """The SQLite outbox. One process writes it; a service may keep its own table instead."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.executescript(_SCHEMA)

    def add(self, event: WebhookEvent, endpoint: str, now: float) -> str:
        did = uuid.uuid4().hex
        with self._lock:
            self._db.execute(
                "INSERT INTO webhook_outbox (id, event_id, event_type, endpoint, body, next_attempt, created)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)", (did, event.id, event.type, endpoint, event.body(), now, now))
        return did

    def due(self, now: float, limit: int = 100) -> list[tuple[Delivery, bytes]]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS}, body FROM webhook_outbox WHERE status = 'pending' AND next_attempt <= ?"
                " ORDER BY next_attempt LIMIT ?", (now, limit)).fetchall()
        return [(Delivery(*r[:9]), bytes(r[9])) for r in rows]

    def next_due(self) -> float | None:
        with self._lock:
            row = self._db.execute("SELECT MIN(next_attempt) FROM webhook_outbox WHERE status = 'pending'").fetchone()
        value = row[0]
        return None if value is None else float(value)

    def mark(self, did: str, status: str, attempts: int, next_attempt: float, error: str | None, now: float) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE webhook_outbox SET status = ?, attempts = ?, next_attempt = ?, last_error = ?,"
                " delivered = CASE WHEN ? = 'delivered' THEN ? ELSE delivered END WHERE id = ?",
                (status, attempts, next_attempt, error, status, now, did))

    def list(self, status: str | None = None) -> list[Delivery]:
        where, args = ("WHERE status = ?", (status,)) if status else ("", ())
        with self._lock:
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM webhook_outbox {where} ORDER BY created", args).fetchall()
        return [Delivery(*r) for r in rows]

    def requeue(self, did: str, now: float) -> bool:
        with self._lock:
            cur = self._db.execute(
                "UPDATE webhook_outbox SET status = 'pending', attempts = 0, next_attempt = ?, last_error = NULL"
                " WHERE id = ? AND status = 'dead'", (now, did))
        return cur.rowcount == 1

    def close(self) -> None:
        with self._lock:
            self._db.close()


@dataclass(frozen=True, slots=True)
class Attempt:
    delivery: str
    endpoint: str
    ok: bool
    status: int | None
    error: str | None
    next_attempt: float | None  # None when delivered or dead


@dataclass
class RetryPolicy:
    max_attempts: int = 8
    base_delay: float = 2.0
    max_delay: float = 3600.0

    def delay(self, attempts: int, rng: random.Random) -> float:
        """Exponential backoff with "equal jitter": half fixed, half random, so retries from many
        senders spread out but never come back sooner than half the nominal delay."""
        nominal = min(self.max_delay, self.base_delay * float(2 ** max(0, attempts - 1)))
        return nominal / 2 + rng.uniform(0, nominal / 2)


class WebhookSender:
    def __init__(
        self,
        outbox: Outbox,
        endpoints: Sequence[Endpoint],
        *,
        policy: RetryPolicy | None = None,
        timeout: float = 10.0,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        names = [e.name for e in endpoints]
        if len(set(names)) != len(names):
            raise ValueError("endpoint names must be unique")
        self.outbox = outbox
        self.endpoints = {e.name: e for e in endpoints}
        self.policy = policy or RetryPolicy()
        self.clock = clock
        self.rng = rng or random.Random()
        self._http = httpx.Client(timeout=timeout, follow_redirects=False, transport=transport)

    def enqueue(self, event: WebhookEvent) -> list[str]:
        now = self.clock()
        return [self.outbox.add(event, name, now) for name in self.endpoints]

    def deliver_due(self) -> list[Attempt]:
        now = self.clock()
        return [self._attempt(d, body) for d, body in self.outbox.due(now)]

    def run(self, *, max_wait: float, sleep: Callable[[float], None] = time.sleep) -> list[Attempt]:
        """Deliver until nothing is pending (or `max_wait` seconds of the clock have passed)."""
        deadline = self.clock() + max_wait
        attempts: list[Attempt] = []
        while True:
            attempts += self.deliver_due()
            nxt = self.outbox.next_due()
            now = self.clock()
            if nxt is None or nxt > deadline:
                return attempts
            if nxt > now:
                sleep(nxt - now)

    def dead_letters(self) -> list[Delivery]:
        return self.outbox.list("dead")

    def retry(self, delivery_id: str) -> bool:
        """Put a dead letter back in the queue, due now."""
        return self.outbox.requeue(delivery_id, self.clock())

    def retry_all(self) -> int:
        return sum(self.retry(d.id) for d in self.dead_letters())

    def close(self) -> None:
        self._http.close()

    def _attempt(self, d: Delivery, body: bytes) -> Attempt:
        endpoint = self.endpoints.get(d.endpoint)
        attempts = d.attempts + 1
        now = self.clock()
        if endpoint is None:
            self.outbox.mark(d.id, "dead", attempts, now, "endpoint no longer configured", now)
            return Attempt(d.id, d.endpoint, False, None, "endpoint no longer configured", None)
        headers = {
            "content-type": "application/json",
            SIGNATURE_HEADER: sign(endpoint.secrets, body, int(now)),
            EVENT_ID_HEADER: d.event_id,
            EVENT_TYPE_HEADER: d.event_type,
            "user-agent": "indexguard-webhooks/1",
        }
        status: int | None = None
        retry_after = 0.0
        try:
            resp = self._http.post(endpoint.url, content=body, headers=headers)
            status = resp.status_code
            if 200 <= status < 300:
                self.outbox.mark(d.id, "delivered", attempts, now, None, now)
                return Attempt(d.id, d.endpoint, True, status, None, None)
            error = f"HTTP {status}"
            retry_after = _retry_after(resp.headers.get("retry-after"))
        except httpx.HTTPError as e:
            error = f"{type(e).__name__}: {e}"[:500]
        if attempts >= self.policy.max_attempts:
            self.outbox.mark(d.id, "dead", attempts, now, error, now)
            return Attempt(d.id, d.endpoint, False, status, error, None)
        nxt = now + max(self.policy.delay(attempts, self.rng), min(retry_after, self.policy.max_delay))
        self.outbox.mark(d.id, "pending", attempts, nxt, error, now)
        return Attempt(d.id, d.endpoint, False, status, error, nxt)


def _retry_after(value: str | None) -> float:
    return float(value) if value and value.strip().isdigit() else 0.0


def notifier(settings: Settings | None = None) -> Notify | None:
    """Case events (`case.opened`, `item.hidden`, `item.removed`, ...) as signed webhooks, when the
    settings' webhook_url and webhook_secret are set (else INDEXGUARD_WEBHOOK_URL/_SECRET/_OUTBOX as
    they stand now, for callers without settings); delivered off the caller's thread."""
    env = os.environ.get
    url = (settings.webhook_url if settings else None) or env("INDEXGUARD_WEBHOOK_URL")
    secret = (settings.webhook_secret if settings else None) or env("INDEXGUARD_WEBHOOK_SECRET")
    if not url or not secret:
        return None
    default_box = settings.webhook_outbox if settings else ":memory:"
    box_path = env("INDEXGUARD_WEBHOOK_OUTBOX", default_box) if default_box == ":memory:" else default_box

    def notify(events: list[tuple[str, dict[str, Any]]]) -> None:
        outbox = Outbox(box_path)
        sender = WebhookSender(outbox, [Endpoint.of("site", url, secret)])
        for kind, data in events:
            sender.enqueue(case_event(kind, data))
        threading.Thread(target=_deliver, args=(sender,), name="indexguard-case-webhooks", daemon=True).start()

    return notify


def _deliver(sender: WebhookSender) -> None:
    try:
        sender.run(max_wait=60)
    finally:
        sender.close()
