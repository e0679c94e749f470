"""The ASGI middleware inside real Starlette and FastAPI apps, the WSGI one inside a real Flask app."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from flask import Flask, render_template_string, request
from ig_demo_site import DemoSite
from ig_helpers import term_list
from starlette.testclient import TestClient

from indexguard.integrations.asgi_middleware import QueryGuardMiddleware
from indexguard.integrations.guard import MARKER, GuardConfig, GuardEvent
from indexguard.integrations.report_link import install_report_link, report_link, report_url
from indexguard.integrations.wsgi_middleware import WsgiQueryGuard
from indexguard.screen.screener import Screener


def _assert_deterrence(body: str, *hidden: str) -> None:
    assert MARKER in body and 'data-indexguard="deterrence"' in body
    assert "Stop It Now" in body  # the default help links
    for h in hidden:
        assert h.lower() not in body.lower()


def test_starlette_blocked_search_serves_deterrence_without_echo(screener: Screener) -> None:
    site = DemoSite(screener)
    client = TestClient(site.app())
    r = client.get("/search", params={"q": "some ZORBLAT here"})
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store" and r.headers["x-robots-tag"] == "noindex"
    _assert_deterrence(r.text, "zorblat", "some", "here")
    assert 'href="/report"' in r.text
    assert len(site.events) == 1 and site.events[0].param == "q"
    assert "zorblat" not in repr(site.events).lower()


def test_starlette_clean_search_and_unchecked_paths_pass(screener: Screener) -> None:
    site = DemoSite(screener)
    client = TestClient(site.app())
    client.post("/upload", data={"title": "Public domain film"})
    r = client.get("/search", params={"q": "public"})
    assert "Results for public" in r.text and "Public domain film" in r.text
    assert '<a class="indexguard-report" href="/report?item=l1" rel="nofollow">Report abuse</a>' in r.text
    # /report is not a configured search path; a parameter outside the list is not screened
    assert client.get("/report", params={"q": "zorblat"}).status_code == 200
    assert "Results for" in client.get("/search", params={"other": "zorblat"}).text
    assert site.events == []


def test_redirect_mode_and_custom_params() -> None:
    events: list[GuardEvent] = []
    app = FastAPI()

    @app.get("/find")
    def find(term: str = "") -> dict[str, str]:
        return {"searched": term}

    cfg = GuardConfig(params=("term",), mode="redirect", redirect_to="/help", on_block=events.append)
    app.add_middleware(QueryGuardMiddleware, screener=Screener.build([term_list()]), config=cfg)
    client = TestClient(app)
    r = client.get("/find", params={"term": "vantu drelo"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/help"
    assert "vantu" not in r.text and "drelo" not in r.headers["location"]
    assert client.get("/find", params={"term": "weather"}).json() == {"searched": "weather"}
    assert [e.path for e in events] == ["/find"]


def test_phrase_written_joined_is_blocked(screener: Screener) -> None:
    client = TestClient(DemoSite(screener).app())
    _assert_deterrence(client.get("/search", params={"q": "VantuDrelo"}).text, "vantu")


def test_too_many_parameters_is_a_clear_400(screener: Screener) -> None:
    client = TestClient(DemoSite(screener).app())
    r = client.get("/search?" + "&".join(f"a{i}=1" for i in range(300)))
    assert r.status_code == 400 and "Too many" in r.text


def test_flask_app_with_wsgi_guard_and_report_link_global(screener: Screener) -> None:
    app = Flask(__name__)
    install_report_link(app.jinja_env, "https://site.example/report")
    events: list[GuardEvent] = []

    @app.route("/search")
    def search() -> str:
        return render_template_string("Results for {{ q }} {{ report_abuse_link('x&1') }}", q=request.args.get("q", ""))

    app.wsgi_app = WsgiQueryGuard(  # type: ignore[method-assign]
        app.wsgi_app, screener, GuardConfig(paths=("/search",), status_code=451, on_block=events.append))
    client = app.test_client()
    ok = client.get("/search", query_string={"q": "garden"})
    assert ok.status_code == 200
    assert 'href="https://site.example/report?item=x%261"' in ok.get_data(as_text=True)
    blocked = client.get("/search", query_string={"q": "quemfix"}, headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert blocked.status_code == 451
    body = blocked.get_data(as_text=True)
    _assert_deterrence(body, "quemfix")
    assert '<html lang="de">' in body
    assert len(events) == 1


@pytest.mark.parametrize(("base", "item", "want"), [
    ("/report", None, "/report"),
    ("/report", "42", "/report?item=42"),
    ("https://x.example/r?lang=en", "a b", "https://x.example/r?lang=en&item=a+b"),
])
def test_report_url(base: str, item: str | None, want: str) -> None:
    assert report_url(base, item) == want


def test_report_link_escapes() -> None:
    html = str(report_link("/report", '"><script>', label="<b>Report</b>"))
    assert "<script>" not in html and "<b>" not in html
    assert html.startswith('<a class="indexguard-report" href="/report?item=%22%3E%3Cscript%3E"')
