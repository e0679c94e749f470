"""End to end in real headless Chromium (Debian's, driven by Playwright; never a browser download):
a visitor reports a listing, a moderator removes it from the top of the queue, the item is removed,
the clocks are recorded, and the audit chain verifies until a row is edited."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from ig_service_helpers import PASSWORD, settings_for
from sqlalchemy import update
from typer.testing import CliRunner

from indexguard.cli.main import build_app
from indexguard.store import accounts
from indexguard.store.models import AuditEntry, Case
from indexguard.web.app import build_services, create_app

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
# Placeholder pseudo-words only; review severity so the screened listing is held, not blocked.
TERMS_CSV = "id,term,mode,severity,category\nt1,wexal tromp,phrase,review,csam\nt2,bizu,token,review,csam\n"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Any]]:
    if not CHROMIUM.exists():
        pytest.skip("chromium not found at /usr/bin/chromium (run scripts/ensure-chromium)")
    pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed in .venv")
    url = f"sqlite:///{tmp_path / 'e2e.db'}"
    svc = build_services(settings_for(url))
    app = create_app(svc.settings, svc)
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "the service did not start"
    try:
        yield f"http://127.0.0.1:{port}", svc
    finally:
        srv.should_exit = True
        thread.join(timeout=15)


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


def test_report_to_removal_in_chromium(server: tuple[str, Any]) -> None:
    from playwright.sync_api import sync_playwright

    base, svc = server
    with svc.sessions() as s, s.begin():
        screen_key = accounts.create_api_key(s, "site", ["screen"], "tests")
        lists_key = accounts.create_api_key(s, "lists", ["lists"], "tests")
        accounts.create_user(s, "mod1", PASSWORD, "moderator")
    api = httpx.Client(base_url=base, timeout=10)
    # The site screened the listing when it was uploaded: nothing matched, so it is listed.
    r = api.post("/v1/listings", json={"id": "listing-4711", "title": "holiday video 2019"},
                 headers={"Authorization": f"Bearer {screen_key}"})  # fmt: skip
    assert r.json()["action"] == "allow"

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            visitor = browser.new_page(viewport={"width": 900, "height": 900})
            visitor.goto(f"{base}/report?item=listing-4711")
            assert visitor.input_value("#item") == "listing-4711"
            visitor.check("input[name=category][value=csam]")
            visitor.fill("#comment", "seen in the new uploads list")
            _shot(visitor, "report.png")
            visitor.click("button[type=submit]")
            reference = visitor.text_content("#reference") or ""
            assert reference.startswith("R-"), visitor.content()[:500]

            mod = browser.new_page(viewport={"width": 1280, "height": 800})
            mod.goto(f"{base}/console")
            assert "/login" in mod.url  # not signed in: sent to sign in first
            mod.fill("#username", "mod1")
            mod.fill("#password", PASSWORD)
            mod.click("button[type=submit]")
            mod.wait_for_url(f"{base}/console")
            first = mod.locator("#queue tbody tr").first
            assert first.locator(".item").text_content() == "listing-4711"
            _shot(mod, "queue.png")
            mod.keyboard.press("Enter")  # the console's shortcut opens the highlighted case
            mod.wait_for_url("**/console/cases/*")
            assert mod.text_content("#item-id") == "listing-4711"
            _shot(mod, "case.png")
            mod.keyboard.press("r")  # confirm and remove
            mod.wait_for_url("**done=remove")
            assert mod.text_content("#item-state") == "removed"
            assert mod.text_content("[data-clock=remove]") != "—"
        finally:
            browser.close()

    r = api.get("/v1/items/listing-4711", headers={"Authorization": f"Bearer {screen_key}"})
    assert r.status_code == 200 and r.json()["state"] == "removed"
    with svc.sessions() as s:
        c = s.query(Case).filter_by(item_id="listing-4711").one()
        assert c.status == "confirmed" and c.decided_by == "mod1"
        assert c.hidden_at is not None and c.decided_at is not None and c.removed_at is not None
        assert c.opened_at <= c.decided_at <= c.removed_at

    _case_page_with_metadata(base, svc, api, screen_key, lists_key)
    _audit_verifies_then_breaks(svc)
    api.close()


def _case_page_with_metadata(base: str, svc: Any, api: httpx.Client, screen_key: str, lists_key: str) -> None:
    """A second case, opened by screening, for the docs: masked title and file tree, uploader facts."""
    from playwright.sync_api import sync_playwright

    r = api.post("/v1/lists", params={"name": "demo-review", "kind": "term", "format": "csv", "activate": "true"},
                 content=TERMS_CSV.encode(), headers={"Authorization": f"Bearer {lists_key}"})  # fmt: skip
    assert r.status_code == 201, r.text
    version = r.json()["version"]
    deadline = time.monotonic() + 10
    while (
        svc.live.state is None or svc.live.state.versions.get("demo-review") != version
    ) and time.monotonic() < deadline:
        time.sleep(0.05)
    listing = {
        "id": "listing-5120", "title": "Wexal Tromp collection", "files": ["pack/bizu_01.jpg", "pack/readme.txt"],
        "infohash": "c9e15763f722f23e98a29decdfae341b98d53056",
        "uploader": {"id": "u-3391", "joined": "2024-02-11", "uploads": 41},
    }  # fmt: skip
    r = api.post("/v1/listings", json=listing, headers={"Authorization": f"Bearer {screen_key}"})
    assert r.json()["action"] == "review", r.text
    assert svc.listings.drain()  # the case opens behind the answer, from the durable queue
    with svc.sessions() as s:
        case_id = s.query(Case).filter_by(item_id="listing-5120").one().id
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"{base}/login?next=/console/cases/{case_id}")
            page.fill("#username", "mod1")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"**/console/cases/{case_id}")
            html = page.content().lower()
            assert "wexal" not in html and "bizu" not in html and "█" in html
            _shot(page, "case-metadata.png")
            _spread_over_days(svc)
            page.goto(f"{base}/console/dashboard")
            _shot(page, "dashboard.png")
        finally:
            browser.close()


def _spread_over_days(svc: Any) -> None:
    """Backdate the closed cases over a week with varied clocks, so the dashboard shows a trend."""
    from datetime import timedelta

    with svc.sessions() as s, s.begin():
        for i, c in enumerate(s.query(Case).filter(Case.status == "confirmed").order_by(Case.id)):
            opened = c.opened_at - timedelta(days=i % 7, minutes=5 * i)
            c.opened_at, c.hidden_at = opened, opened + timedelta(seconds=2 + 3 * i)
            c.decided_at = c.removed_at = opened + timedelta(minutes=4 + 7 * (i % 4))


def _audit_verifies_then_breaks(svc: Any) -> None:
    url = svc.settings.database_url
    runner = CliRunner()
    ok = runner.invoke(build_app(), ["audit", "verify", "--database", url])
    assert ok.exit_code == 0, ok.output
    with svc.sessions() as s:
        actions = {a for (a,) in s.query(AuditEntry.action)}
    assert {"session.login", "report.create", "case.open", "case.remove"} <= actions
    with svc.sessions() as s, s.begin():
        s.execute(update(AuditEntry).where(AuditEntry.action == "case.remove").values(actor="someone else"))
    bad = runner.invoke(build_app(), ["audit", "verify", "--database", url])
    assert bad.exit_code != 0
