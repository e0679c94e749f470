"""Webhook signing, replay-safe verification and delivery with retries, against a real HTTP
receiver on 127.0.0.1 that verifies with the library's own `verify`."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from indexguard.integrations.webhooks import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    Endpoint,
    Outbox,
    ReplayCache,
    RetryPolicy,
    WebhookEvent,
    WebhookSender,
    WebhookVerificationError,
    decision_event,
    sign,
    verify,
)
from indexguard.screen.screener import Screener

SECRET = "whsec-test-0123456789"


class Receiver:
    """A site's webhook endpoint: verifies, refuses replays, can be told to fail."""

    def __init__(self, secret: str = SECRET) -> None:
        self.secret = secret
        self.cache = ReplayCache()
        self.fail_next = 0
        self.accepted: list[dict[str, Any]] = []
        self.refused: list[str] = []
        self.raw: list[tuple[bytes, dict[str, str]]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                receiver.raw.append((body, dict(self.headers.items())))
                if receiver.fail_next > 0:
                    receiver.fail_next -= 1
                    self._answer(503)
                    return
                try:
                    event = verify(receiver.secret, body, self.headers.get(SIGNATURE_HEADER, ""),
                                   replay_cache=receiver.cache)
                except WebhookVerificationError as e:
                    receiver.refused.append(str(e))
                    self._answer(409 if "replay" in str(e) else 400)
                    return
                receiver.accepted.append(event)
                self._answer(204)

            def _answer(self, code: int) -> None:
                self.send_response(code)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


class FakeClock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.now += s


# --- signing and verification -----------------------------------------------------------------

def test_sign_verify_roundtrip_and_refusals() -> None:
    body = WebhookEvent("case.opened", {"case": "c1"}, id="e1", created=100).body()
    header = sign(SECRET, body, 1000)
    assert header.startswith("t=1000,v1=")
    assert verify(SECRET, body, header, now=1000)["data"] == {"case": "c1"}
    cases = [
        (SECRET, body + b" ", header, 1000, "does not match"),
        ("other-secret", body, header, 1000, "does not match"),
        (SECRET, body, header, 1000 + 301, "tolerance"),
        (SECRET, body, header, 1000 - 301, "tolerance"),
        (SECRET, body, "v1=abc", 1000, "malformed"),
        (SECRET, body, header.replace("t=1000", "t=1001"), 1001, "does not match"),
    ]
    for secret, b, h, now, why in cases:
        with pytest.raises(WebhookVerificationError, match=why):
            verify(secret, b, h, now=now)


def test_replay_inside_window_is_refused_and_rotation_accepts_either_secret() -> None:
    body = WebhookEvent("decision.block", {}, id="same-id").body()
    cache = ReplayCache()
    header = sign(["new-secret", SECRET], body, 5000)
    assert verify(SECRET, body, header, now=5000, replay_cache=cache)["id"] == "same-id"
    with pytest.raises(WebhookVerificationError, match="replay"):
        verify("new-secret", body, header, now=5001, replay_cache=cache)
    # the same id re-signed later is still a replay while the first is remembered
    with pytest.raises(WebhookVerificationError, match="replay"):
        verify(SECRET, body, sign(SECRET, body, 5100), now=5100, replay_cache=cache)


def test_decision_event_never_carries_term_text(screener: Screener) -> None:
    d = screener.query("zorblat", id="q1", reveal=True)
    assert any(r.detail for r in d.reasons)
    ev = decision_event(d, item_id="listing-7")
    assert ev.type == "decision.block"
    assert b"zorblat" not in ev.body() and b"deterrence" not in ev.body()
    assert ev.data["item"] == "listing-7" and ev.data["reasons"][0]["entry"]


# --- delivery against the local receiver --------------------------------------------------------

def test_delivery_is_signed_and_accepted(receiver: Receiver) -> None:
    sender = WebhookSender(Outbox(), [Endpoint.of("site", receiver.url, SECRET)])
    ev = WebhookEvent("case.opened", {"case": "c1"})
    sender.enqueue(ev)
    attempts = sender.deliver_due()
    assert [a.ok for a in attempts] == [True]
    assert receiver.accepted[0]["id"] == ev.id and receiver.accepted[0]["type"] == "case.opened"
    headers = {k.lower(): v for k, v in receiver.raw[0][1].items()}
    assert headers[EVENT_ID_HEADER.lower()] == ev.id and headers["content-type"] == "application/json"
    assert sender.outbox.list("delivered")[0].attempts == 1


def test_replayed_request_is_refused_by_receiver(receiver: Receiver) -> None:
    sender = WebhookSender(Outbox(), [Endpoint.of("site", receiver.url, SECRET)])
    sender.enqueue(WebhookEvent("decision.block", {"id": "d1"}))
    sender.deliver_due()
    body, headers = receiver.raw[0]
    again = httpx.post(receiver.url, content=body, headers={SIGNATURE_HEADER: headers[SIGNATURE_HEADER]})
    assert again.status_code == 409
    assert len(receiver.accepted) == 1 and "replay" in receiver.refused[0]


def test_retries_with_exponential_backoff_then_success(receiver: Receiver) -> None:
    clock = FakeClock(start=time.time())
    receiver.fail_next = 3
    sender = WebhookSender(Outbox(), [Endpoint.of("site", receiver.url, SECRET)],
                           policy=RetryPolicy(max_attempts=6, base_delay=2.0), clock=clock, rng=random.Random(7))
    sender.enqueue(WebhookEvent("case.closed", {}))
    attempts = sender.run(max_wait=3600, sleep=clock.sleep)
    assert [a.ok for a in attempts] == [False, False, False, True]
    assert [a.status for a in attempts[:3]] == [503, 503, 503]
    # nominal delays 2, 4, 8 s; equal jitter keeps each in [nominal/2, nominal]
    for s, nominal in zip(clock.sleeps, (2, 4, 8), strict=True):
        assert nominal / 2 <= s <= nominal
    assert len(receiver.accepted) == 1


def test_dead_letter_after_last_attempt_and_retry(receiver: Receiver, tmp_path: Path) -> None:
    clock = FakeClock(start=time.time())
    receiver.fail_next = 100
    db = tmp_path / "outbox.sqlite"
    sender = WebhookSender(Outbox(db), [Endpoint.of("site", receiver.url, SECRET)],
                           policy=RetryPolicy(max_attempts=3, base_delay=1.0), clock=clock)
    (did,) = sender.enqueue(WebhookEvent("case.opened", {}))
    attempts = sender.run(max_wait=3600, sleep=clock.sleep)
    assert len(attempts) == 3 and not any(a.ok for a in attempts)
    dead = sender.dead_letters()
    assert [d.id for d in dead] == [did] and dead[0].attempts == 3 and dead[0].last_error == "HTTP 503"
    # the outbox is a file: a new sender (a restarted process) sees the same dead letter
    sender.outbox.close()
    restarted = WebhookSender(Outbox(db), [Endpoint.of("site", receiver.url, SECRET)], clock=clock)
    assert [d.id for d in restarted.dead_letters()] == [did]
    receiver.fail_next = 0
    assert restarted.retry(did) and not restarted.retry("no-such-id")
    assert [a.ok for a in restarted.deliver_due()] == [True]
    assert restarted.dead_letters() == [] and len(receiver.accepted) == 1


def test_unreachable_endpoint_is_retried_not_crashed() -> None:
    clock = FakeClock()
    sender = WebhookSender(Outbox(), [Endpoint.of("gone", "http://127.0.0.1:9/hook", SECRET)],
                           clock=clock, timeout=2)
    sender.enqueue(WebhookEvent("case.opened", {}))
    (a,) = sender.deliver_due()
    assert not a.ok and a.error and "Connect" in a.error and a.next_attempt is not None
    assert a.next_attempt > clock.now


def test_wrong_secret_at_receiver_is_400(receiver: Receiver) -> None:
    sender = WebhookSender(Outbox(), [Endpoint.of("site", receiver.url, "not-the-secret")],
                           policy=RetryPolicy(max_attempts=1))
    sender.enqueue(WebhookEvent("case.opened", {}))
    (a,) = sender.deliver_due()
    assert a.status == 400 and receiver.accepted == [] and "does not match" in receiver.refused[0]
    assert len(sender.dead_letters()) == 1
