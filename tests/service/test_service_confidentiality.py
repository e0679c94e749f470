"""Nothing leaks: demo routes off by default, list versions published only as keyed digests, reported
URLs sealed at rest, and a trusted flagger's key files reports without reading cases."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from ig_service_helpers import TERMS, Env, settings_for
from sqlalchemy import select

from indexguard.store import accounts
from indexguard.store.models import Base
from indexguard.web.app import build_services, create_app

SECRET_PATH = "zqx-secret-path-7731/listing"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_demo_routes_only_when_switched_on(db_url: str) -> None:
    off = build_services(settings_for(db_url))
    with TestClient(create_app(off.settings, off)) as c:
        assert c.get("/demo/search", params={"q": "bizu"}).status_code == 404
        assert c.post("/demo/upload", data={"title": "bizu"}).status_code == 404
    on = build_services(settings_for(db_url, demo_routes=True))
    with TestClient(create_app(on.settings, on)) as c:
        assert c.get("/demo/search", params={"q": "hello"}).status_code == 200


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_list_versions_are_published_only_as_keyed_digests(env: Env) -> None:
    info = env.import_list("site", TERMS)
    env.wait_live("site", str(info["version"]))
    real = str(info["version"])
    ready = env.client.get("/readyz").json()
    assert ready["lists"]["site"].startswith("k:") and real not in str(ready)
    metrics = env.client.get("/metrics").text
    assert "site" in metrics and real not in metrics


def test_reported_urls_are_sealed_at_rest(env: Env) -> None:
    url = f"https://files.example.net/{SECRET_PATH}?x=1"
    r = env.client.post("/v1/reports", json={"url": url, "category": "csam", "comment": "see link"})
    assert r.status_code == 201
    with env.svc.sessions() as s:
        for table in Base.metadata.sorted_tables:
            for row in s.execute(select(table)).all():
                assert SECRET_PATH not in repr(row) and "files.example.net/zqx" not in repr(row), table.name
    mod = env.login("moderator")
    cases = env.client.get("/v1/cases", headers=env.auth("cases")).json()["cases"]
    assert cases and all(SECRET_PATH not in str(c) for c in cases)
    page = mod.get(f"/console/cases/{cases[0]['id']}").text
    assert "files.example.net" in page and SECRET_PATH not in page


def test_trusted_flagger_key_files_reports_but_reads_no_case(env: Env) -> None:
    with env.svc.sessions() as s, s.begin():
        key = accounts.create_api_key(s, "hotline-org", ["report"], "tests")
    prefix = key.split("_")[1]
    r = env.client.put(f"/v1/admin/trusted-flaggers/{prefix}", params={"name": "org"}, headers=env.auth("admin"))
    assert r.status_code == 200
    h = {"Authorization": f"Bearer {key}"}
    r = env.client.post("/v1/reports", json={"item": "flagged-1", "category": "csam"}, headers=h)
    assert r.status_code == 201 and r.json()["trusted"] is True
    assert env.client.get("/v1/cases", headers=h).status_code == 403
    assert env.client.post("/v1/cases/1/actions", json={"action": "dismiss"}, headers=h).status_code == 403
