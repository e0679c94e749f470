"""Health, readiness, metrics, OpenAPI, and logs that hold no term text and no query."""

from __future__ import annotations

import logging

import pytest
from ig_service_helpers import TERMS, Env


def test_health_ready_openapi(env: Env) -> None:
    assert env.client.get("/healthz").json() == {"status": "ok"}
    ready = env.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True and "demo" in ready.json()["lists"]
    paths = env.client.get("/openapi.json").json()["paths"]
    for p in ("/v1/query", "/v1/listings", "/v1/torrents", "/v1/nzbs", "/v1/images", "/v1/batch", "/v1/lists"):
        assert p in paths


def test_metrics_count_decisions_and_show_live_versions(env: Env) -> None:
    info = env.import_list("site", TERMS)
    env.wait_live("site", info["version"])
    for q in ("bizu", "bizu", "nothing"):
        env.client.post("/v1/query", json={"q": q}, headers=env.auth("screen"))
    text = env.client.get("/metrics").text
    assert 'indexguard_decisions_total{action="block",category="csam"} 2.0' in text
    assert 'indexguard_decisions_total{action="allow",category="none"} 1.0' in text
    published = env.svc.live.published({"site": info["version"]})["site"]  # a keyed digest, not the SHA-256
    assert f'indexguard_live_list{{list="site",version="{published}"}} 1.0' in text
    assert info["version"] not in text
    assert 'indexguard_screen_seconds_bucket{endpoint="query"' in text


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_logs_hold_no_term_text_and_no_query(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    from indexguard.logs import JsonFormatter

    caplog.set_level(logging.DEBUG)
    env.import_list("site", TERMS)
    env.wait_live("site", env.import_list("site", TERMS)["version"])
    env.client.post("/v1/query", json={"q": "husinjopuk secretquery42"}, headers=env.auth("screen"))
    env.client.get("/blocked?q=secretquery42")
    fmt = JsonFormatter()
    lines = [fmt.format(r) for r in caplog.records if r.name.startswith(("indexguard", "uvicorn"))]
    assert any('"lists"' in line for line in lines)  # the poller did log the swap
    for line in lines:
        assert "husinjopuk" not in line and "secretquery42" not in line and "wexal" not in line
