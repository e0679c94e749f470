"""Delist first, told at once: hiding an item sends a signed webhook when one is configured."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from ig_service_helpers import TERMS, Env

from indexguard.integrations import webhooks

SECRET = "whsec-test-0123456789"


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    got: list[dict[str, Any]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append(webhooks.verify(SECRET, body, self.headers[webhooks.SIGNATURE_HEADER]))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_args: Any) -> None:
            pass

    srv = HTTPServer(("127.0.0.1", 0), Hook)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/hook", got
    srv.shutdown()


def _wait(got: list[dict[str, Any]], kind: str, item: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for ev in list(got):
            if ev["type"] == kind and ev["data"].get("item") == item:
                return ev
        time.sleep(0.05)
    raise AssertionError(f"no {kind} webhook for {item}; got {[e['type'] for e in got]}")


def test_hidden_and_removed_items_send_signed_webhooks(
    cenv_sqlite: Env, receiver: tuple[str, list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    e = cenv_sqlite
    url, got = receiver
    monkeypatch.setenv("INDEXGUARD_WEBHOOK_URL", url)
    monkeypatch.setenv("INDEXGUARD_WEBHOOK_SECRET", SECRET)
    prefix = e.keys["cases"].split("_")[1]
    e.client.put(f"/v1/admin/trusted-flaggers/{prefix}", headers=e.auth("admin"))
    e.client.post("/v1/reports", json={"item": "W1", "category": "csam"}, headers=e.auth("cases"))
    hidden = _wait(got, "item.hidden", "W1")
    assert "trusted" in hidden["data"]["why"]
    info = e.import_list("t", TERMS, activate=True)
    e.wait_live("t", str(info["version"]))
    e.client.post("/v1/listings", json={"id": "W2", "title": "bizu"}, headers=e.auth("screen"))
    opened = _wait(got, "case.opened", "W2")
    assert set(opened["data"]) == {"case", "item", "source"}  # ids only, never list text
    mod = e.login("moderator")
    mod.post(f"/v1/cases/{opened['data']['case']}/actions", json={"action": "remove"})
    _wait(got, "item.removed", "W2")
    assert not any("bizu" in str(ev) for ev in got)
