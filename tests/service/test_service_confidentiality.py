"""Nothing leaks: demo routes off by default, list versions published only as keyed digests, reported
URLs sealed at rest, blocked listings' URLs keyed at rest, and a trusted flagger's key files reports
without reading cases."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient
from ig_service_helpers import TERMS, Env, settings_for
from sqlalchemy import select

from indexguard.store import accounts
from indexguard.store.models import Base
from indexguard.web.app import build_services, create_app

SECRET_PATH = "zqx-secret-path-7731/listing"
BLOCKED_PATH = "zqv-blocked-path-4410/item"
TRACKER_PASSKEY = "zqpass0077"


def _tables_hold(env: Env, *needles: str) -> list[str]:
    """Tables whose rows contain any of the needles, as repr: every column of every row."""
    found = []
    with env.svc.sessions() as s:
        for table in Base.metadata.sorted_tables:
            for row in s.execute(select(table)).all():
                if any(n in repr(row) for n in needles):
                    found.append(table.name)
                    break
    return found


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


def test_blocked_listing_urls_are_keyed_at_rest(env: Env, caplog: pytest.LogCaptureFixture) -> None:
    """A blocked listing's URL (and a tracker URL with a passkey in its magnet) is in no table in
    clear: the deny set and decision records hold its keyed digest, the case its host and a sealed
    copy. A re-upload of the same address in another spelling is still refused, the case page shows
    the host, and the hotline report opens the sealed copy with the key."""
    from indexguard.cases.meta import CaseMeta
    from indexguard.cases.private_urls import full_urls
    from indexguard.cli.export_cmd import service_deny_set
    from indexguard.hotline.from_case import snapshot_from_case
    from indexguard.store.models import Case, DenyEntry

    caplog.set_level(logging.DEBUG)
    info = env.import_list("site", TERMS)
    env.wait_live("site", str(info["version"]))
    url = f"https://cdn.example.org/{BLOCKED_PATH}?id=5"
    tracker = f"https://tracker.example.org/{TRACKER_PASSKEY}/announce"
    magnet = f"magnet:?xt=urn:btih:{'ab' * 20}&dn=pack&tr={tracker}"
    h = env.auth("screen")
    first = env.client.post("/v1/listings", json={"id": "B1", "title": "wexal tromp pack", "url": url,
                                                  "magnet": magnet}, headers=h)  # fmt: skip
    assert first.json()["action"] == "block"
    again = env.client.post("/v1/listings", headers=h, json={
        "id": "B2", "title": "garden tools", "url": f"HTTPS://CDN.Example.ORG:443/x/../{BLOCKED_PATH}?id=5"})
    assert again.json()["action"] == "block"
    assert {x["view"] for x in again.json()["reasons"]} == {"identity:url"}
    assert env.svc.listings is not None and env.svc.listings.drain()
    # Through another worker's view (a fresh set reading the table) it is refused too.
    other = type(env.svc.live.deny)(env.svc.sessions, env.svc.live.deny.url_key)
    other.refresh()
    assert [r.matched for r in other.lookup({"url": [f"http://cdn.example.org/{BLOCKED_PATH}?id=5"]})] == ["url"]

    assert _tables_hold(env, BLOCKED_PATH, TRACKER_PASSKEY, "cdn.example.org/zqv") == []
    with env.svc.sessions() as s:
        deny_urls = list(s.scalars(select(DenyEntry.value).where(DenyEntry.kind == "url")))
        metas = {c.item_id: CaseMeta.from_json(c.meta) for c in s.scalars(select(Case))}
    assert deny_urls and all(v.startswith("k1:") and len(v) == 67 for v in deny_urls)
    assert {u.text for u in metas["B1"].urls} == {"https://cdn.example.org/\u2026"}
    assert full_urls(metas["B1"], env.svc.cipher) == (url,)  # sealed, opened with the key

    # Published and shown: metrics, readiness, case API and pages, exports, logs.
    assert BLOCKED_PATH not in env.client.get("/metrics").text
    assert BLOCKED_PATH not in env.client.get("/readyz").text
    cases = env.client.get("/v1/cases", headers=env.auth("cases")).json()["cases"]
    assert cases and all(BLOCKED_PATH not in str(c) and TRACKER_PASSKEY not in str(c) for c in cases)
    mod = env.login("moderator")
    for c in cases:
        assert BLOCKED_PATH not in env.client.get(f"/v1/cases/{c['id']}", headers=env.auth("cases")).text
        page = mod.get(f"/console/cases/{c['id']}").text
        assert "cdn.example.org" in page
        assert BLOCKED_PATH not in page and TRACKER_PASSKEY not in page
    assert BLOCKED_PATH not in mod.get("/console/cases").text
    assert BLOCKED_PATH not in repr(service_deny_set(env.svc.settings.database_url))
    assert BLOCKED_PATH not in caplog.text and TRACKER_PASSKEY not in caplog.text

    # The hotline report needs the exact address: the snapshot opens the sealed copy with the key.
    case_b1 = next(c["id"] for c in cases if c["item"] == "B1")
    with env.svc.sessions() as s:
        snap = snapshot_from_case(s, case_b1, env.svc.cipher)
        assert snap.urls == (url,)
        assert snapshot_from_case(s, case_b1).urls == ()  # without the key: left out, never the host form
    from indexguard.hotline.ncmec_xml import build_report
    from indexguard.settings import preview_reporter

    assert url.replace("&", "&amp;") in build_report(snap, preview_reporter()).decode()  # the NCMEC report has it


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
