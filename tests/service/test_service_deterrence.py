"""Deterrence measured end to end through the service: a simulated population of sessions with known
behaviour per variant yields exactly the counts it was built with, the A/B comparison finds the
planted difference and none where none was planted, and nothing stored, logged, exported or
published holds a session reference, an address or query text."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ig_service_helpers import Env, settings_for
from sqlalchemy import MetaData, select

from indexguard.store.deterrence_models import DeterrenceSession
from indexguard.web.app import build_services, create_app

DETERRENCE = """
default_language = "en"
[experiment]
alpha = 0.05
power = 0.8
baseline_rate = 0.1
minimum_effect = 0.25
metric = "help_click"

[[link]]
name = "Help service (everyone)"
url = "https://help.example.org/"
region = "*"
[[link]]
name = "Help service (GB)"
url = "https://gb.help.example.org/"
region = "GB"

[[variant]]
id = "control"
language = "en"
title = "Search blocked"
message = "Placeholder control wording."
[[variant]]
id = "direct"
language = "en"
title = "Search blocked"
message = "Placeholder direct wording."
[[variant]]
id = "kontrolle"
language = "de"
title = "Suche blockiert"
message = "Platzhalter A."
[[variant]]
id = "direkt"
language = "de"
title = "Suche blockiert"
message = "Platzhalter B."
"""

# True behaviour per variant: P(click help), P(search again within the window), P(blocked again | again)
RATES = {
    "control": (0.10, 0.60, 0.50),
    "direct": (0.40, 0.30, 0.50),
    "kontrolle": (0.20, 0.50, 0.50),
    "direkt": (0.20, 0.50, 0.50),
}


@dataclass
class Truth:
    sessions: dict[str, int] = field(default_factory=dict)
    clicked: dict[str, int] = field(default_factory=dict)
    again: dict[str, int] = field(default_factory=dict)
    reblocked: dict[str, int] = field(default_factory=dict)
    impressions: dict[str, int] = field(default_factory=dict)

    def add(self, which: dict[str, int], variant: str) -> None:
        which[variant] = which.get(variant, 0) + 1


@pytest.fixture
def denv(db_url: str, tmp_path: Path) -> Env:
    from fastapi.testclient import TestClient

    from indexguard.store import accounts

    f = tmp_path / "deterrence.toml"
    f.write_text(DETERRENCE)
    svc = build_services(settings_for(db_url, deterrence_file=str(f)))
    app = create_app(svc.settings, svc)
    client = TestClient(app)
    client.__enter__()
    e = Env(client, svc)
    with svc.sessions() as s, s.begin():
        for scope in accounts.SCOPES:
            e.keys[scope] = accounts.create_api_key(s, f"test-{scope}", [scope], "tests")
    yield e  # type: ignore[misc]
    client.__exit__(None, None, None)


def _query(env: Env, q: str, session: str, lang: str, country: str | None = None) -> dict[str, object]:
    body: dict[str, object] = {"q": q, "session": session}
    if country:
        body["country"] = country
    r = env.client.post("/v1/query", json=body, headers={**env.auth("screen"), "Accept-Language": lang})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _hits(k: int, p: float) -> bool:
    """The k-th session of an arm does the thing: exactly a share p of each arm, whatever the split."""
    return int((k + 1) * p + 1e-9) > int(k * p + 1e-9)


def _simulate(env: Env, n: int, marker: str) -> Truth:
    truth = Truth()
    for i in range(n):
        ref = f"site-session-{marker}-{i}"
        lang = "de-DE,de;q=0.9" if i % 2 else "en-GB,en;q=0.8"
        d = _query(env, f"zorblat {marker} {i}", ref, lang)
        assert d["action"] == "block"
        det = d["deterrence"]
        assert isinstance(det, dict)
        v = det["variant"]
        k = truth.sessions.get(v, 0)
        truth.add(truth.sessions, v)
        truth.add(truth.impressions, v)
        p_click, p_again, p_reblock = RATES[v]
        if _hits(k, p_click):
            href = det["links"][0]["href"]
            r = env.client.get(href, follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"].startswith("https://")
            assert r.headers["referrer-policy"] == "no-referrer"
            truth.add(truth.clicked, v)
        if _hits(k, p_again):
            j = truth.again.get(v, 0)
            truth.add(truth.again, v)
            if _hits(j, p_reblock):
                _query(env, f"quemfix {marker} again {i}", ref, lang)
                truth.add(truth.reblocked, v)
                truth.add(truth.impressions, v)
            else:
                assert _query(env, f"holiday {marker} {i}", ref, lang)["action"] == "allow"
    # searches from sessions never warned leave no state and change no count
    for i in range(20):
        _query(env, f"garden {marker} {i}", f"quiet-{marker}-{i}", "en")
    return truth


def test_population_counts_rates_and_ab_verdicts(denv: Env, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    marker = "mk5519"
    truth = _simulate(denv, 480, marker=marker)
    assert denv.svc.deterrence.flush()
    r = denv.client.get("/v1/deterrence", headers=denv.auth("admin"))
    assert r.status_code == 200, r.text
    rep = r.json()
    arms = {a["variant"]: a for a in rep["variants"]}
    assert set(arms) == set(RATES)
    for v, arm in arms.items():
        assert arm["sessions"] == truth.sessions[v]
        assert arm["impressions"] == truth.impressions[v]
        assert arm["clicks"] == truth.clicked.get(v, 0)
        assert arm["rates"]["help_click"]["successes"] == truth.clicked.get(v, 0)
        assert arm["rates"]["repeat_search"]["successes"] == truth.again.get(v, 0)
        assert arm["rates"]["repeat_block"]["successes"] == truth.reblocked.get(v, 0)
        low, high = arm["rates"]["help_click"]["low"], arm["rates"]["help_click"]["high"]
        assert low <= RATES[v][0] <= high  # the interval covers the planted rate
    verdicts = {c["variant"]: c for c in rep["comparisons"]}
    assert verdicts["direct"]["ready"] and verdicts["direct"]["significant"]  # planted: 10% vs 40%
    assert verdicts["direkt"]["ready"] and not verdicts["direkt"]["significant"]  # none planted
    assert rep["blocked_searches_by_category"] == {"csam": sum(truth.impressions.values())}
    # nothing holds a session reference, an address or query text
    _assert_nothing_recoverable(denv, marker, caplog, [r.text])


def _assert_nothing_recoverable(env: Env, marker: str, caplog: pytest.LogCaptureFixture, extra: list[str]) -> None:
    dump: list[str] = []
    meta = MetaData()
    meta.reflect(env.svc.engine)
    with env.svc.engine.connect() as conn:
        for table in meta.sorted_tables:
            dump.extend(repr(tuple(row)) for row in conn.execute(table.select()))
    csv = env.client.get("/v1/deterrence", params={"format": "csv"}, headers=env.auth("admin")).text
    page = env.login("admin").get("/deterrence").text
    metrics = env.client.get("/metrics").text
    logs = "\n".join(rec.getMessage() + repr(rec.__dict__) for rec in caplog.records)
    for text, where in ((" ".join(dump), "database"), (csv, "csv"), (page, "page"), (metrics, "metrics"),
                        (logs, "logs"), (" ".join(extra), "report")):  # fmt: skip
        assert marker not in text, f"query text or session reference in the {where}"
        assert "site-session" not in text and "quiet-" not in text, f"session reference in the {where}"
        assert "testclient" not in text, f"client address in the {where}"


def test_variant_is_stable_per_session_and_language_and_country_apply(denv: Env) -> None:
    first = _query(denv, "zorblat", "stable-1", "en")["deterrence"]
    assert isinstance(first, dict)
    for _ in range(5):
        again = _query(denv, "zorblat", "stable-1", "en")["deterrence"]
        assert isinstance(again, dict) and again["variant"] == first["variant"]
    de = _query(denv, "zorblat", "stable-2", "fr-CH, de;q=0.7, en;q=0.5")["deterrence"]
    assert isinstance(de, dict) and de["locale"] == "de" and de["variant"] in ("kontrolle", "direkt")
    r = denv.client.post("/v1/query", json={"q": "zorblat", "lang": "de"}, headers=denv.auth("screen"))
    assert r.json()["deterrence"]["locale"] == "de"
    gb = _query(denv, "zorblat", "stable-3", "en", country="GB")["deterrence"]
    assert isinstance(gb, dict)
    assert [link["url"] for link in gb["links"]] == ["https://gb.help.example.org/", "https://help.example.org/"]
    fr = _query(denv, "zorblat", "stable-4", "en", country="FR")["deterrence"]
    assert isinstance(fr, dict) and [link["url"] for link in fr["links"]] == ["https://help.example.org/"]
    # the redirect goes to the link the visitor saw, for their country
    r = denv.client.get(gb["links"][0]["href"], follow_redirects=False)
    assert r.headers["location"] == "https://gb.help.example.org/"


def test_forged_or_broken_help_tokens_count_nothing_and_redirect_home(denv: Env) -> None:
    d = _query(denv, "zorblat", "forge-1", "en")["deterrence"]
    assert isinstance(d, dict)
    good = d["links"][0]["href"].split("t=", 1)[1]
    for bad in ("", "x", good[:-2] + "AA", "%%%", "a." * 300, good.replace(".", "")):
        r = denv.client.get("/go/help", params={"t": bad}, follow_redirects=False)
        assert r.status_code in (303, 422) and r.headers.get("location", "/blocked") == "/blocked"
    assert denv.svc.deterrence.flush()
    rep = denv.client.get("/v1/deterrence", headers=denv.auth("admin")).json()
    assert sum(a["clicks"] for a in rep["variants"]) == 0


def test_session_state_expires_and_aggregates_stay(denv: Env) -> None:
    _query(denv, "zorblat", "expire-1", "en")
    assert denv.svc.deterrence.flush()
    with denv.svc.sessions() as s:
        assert len(s.scalars(select(DeterrenceSession)).all()) == 1
    keep = timedelta(hours=denv.svc.settings.deterrence_keep_hours)
    assert denv.svc.deterrence.purge(datetime.now(UTC) + keep - timedelta(minutes=1)) == 0
    assert denv.svc.deterrence.purge(datetime.now(UTC) + keep + timedelta(minutes=1)) == 1
    with denv.svc.sessions() as s:
        assert s.scalars(select(DeterrenceSession)).all() == []
    rep = denv.client.get("/v1/deterrence", headers=denv.auth("admin")).json()
    assert sum(a["sessions"] for a in rep["variants"]) == 1


def test_report_needs_admin_and_noise_is_reported(denv: Env) -> None:
    assert denv.client.get("/v1/deterrence").status_code == 401
    assert denv.client.get("/v1/deterrence", headers=denv.auth("screen")).status_code == 403
    _query(denv, "zorblat", "noise-1", "en")
    assert denv.svc.deterrence.flush()
    rep = denv.client.get("/v1/deterrence", params={"noise": "true"}, headers=denv.auth("admin")).json()
    assert rep["privacy"]["mechanism"] == "two-sided geometric" and rep["privacy"]["epsilon_spent"] > 0
    admin = denv.auth("admin")
    assert denv.client.get("/v1/deterrence", params={"since": "yesterday"}, headers=admin).status_code == 422
    exact = json.loads(denv.client.get("/v1/deterrence", headers=admin).text)
    assert exact["privacy"]["epsilon_per_count"] is None


def test_middleware_counts_through_the_service(denv: Env) -> None:
    """A site's own app with the ASGI middleware: the session comes from the site's cookie, the warning
    page's help links go through the service's counting redirect, and the service reports it all."""
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from indexguard.deterrence.counter import counter_from_settings
    from indexguard.integrations.asgi_middleware import QueryGuardMiddleware
    from indexguard.integrations.guard import GuardConfig

    counter = counter_from_settings(denv.svc.settings)
    cfg = GuardConfig(paths=("/search",), session_cookie="sid", counter=counter, help_base="https://guard.example")
    site = Starlette(routes=[Route("/search", lambda r: PlainTextResponse("results"))])
    site.add_middleware(QueryGuardMiddleware, screener=lambda: denv.svc.live.state.screener, config=cfg)  # type: ignore[union-attr]
    browser = TestClient(site)
    browser.cookies.set("sid", "site-session-mw-1")
    page = browser.get("/search", params={"q": "zorblat"}, headers={"Accept-Language": "de"}).text
    assert "Platzhalter" in page and "zorblat" not in page
    href = page.split('href="https://guard.example', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert href.startswith("/go/help?t=")
    assert browser.get("/search", params={"q": "garden"}).text == "results"  # searched again, allowed
    r = denv.client.get(href, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("https://help.example.org/")
    assert denv.svc.deterrence.flush()
    rep = denv.client.get("/v1/deterrence", headers=denv.auth("admin")).json()
    arm = next(a for a in rep["variants"] if a["locale"] == "de")
    assert arm["sessions"] == 1 and arm["clicks"] == 1
    assert arm["rates"]["repeat_search"]["successes"] == 1 and arm["rates"]["repeat_block"]["successes"] == 0


def test_transparency_report_has_the_deterrence_section(denv: Env) -> None:
    for i in range(3):
        _query(denv, "zorblat", f"site-session-tr-{i}", "en")
    assert denv.svc.deterrence.flush()
    rep = denv.client.get("/v1/transparency", headers=denv.auth("admin")).json()
    det = rep["deterrence"]
    assert det["sessions_warned"] == 3 and det["warnings_shown"] == 3 and det["help_click_rate"] == 0.0
    assert sum(v["sessions"] for v in det["variants"]) == 3
    page = denv.login("admin").get("/transparency").text
    assert "Deterrence" in page and "Sessions warned" in page and "site-session" not in page


def test_console_dashboard_has_the_deterrence_card(denv: Env) -> None:
    for i in range(2):
        _query(denv, "zorblat", f"site-session-dash-{i}", "en")
    assert denv.svc.deterrence.flush()
    page = denv.login("admin").get("/console/dashboard")
    assert page.status_code == 200
    assert "Deterrence" in page.text and "<strong>2</strong> warnings shown" in page.text
    assert 'href="/deterrence"' in page.text and "site-session" not in page.text
