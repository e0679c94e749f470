"""Flood-proof reporting: an atomic per-address limit, IPv6 counted per /64, a queue a burst
cannot bury a new report in, a cap on open reports per item, and a flood shown in the console."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient
from ig_service_helpers import Env, settings_for

from indexguard.cases.filing import rate_subject
from indexguard.store import accounts
from indexguard.web.app import build_services, create_app


def _post(c: TestClient, item: str) -> int:
    return c.post("/v1/reports", json={"item": item, "category": "advert"}).status_code


def test_concurrent_reports_from_one_address_never_pass_the_limit(db_url: str) -> None:
    svc = build_services(settings_for(db_url, reports_per_hour=20))
    with TestClient(create_app(svc.settings, svc)) as c, ThreadPoolExecutor(12) as pool:
        codes = list(pool.map(lambda i: _post(c, f"item-{i}"), range(60)))
    assert codes.count(201) == 20 and codes.count(429) == 40


def test_ipv6_is_counted_per_64() -> None:
    assert rate_subject("2001:db8:1:2::1") == rate_subject("2001:db8:1:2:ffff:ffff:ffff:ffff")
    assert rate_subject("2001:db8:1:2::1") != rate_subject("2001:db8:1:3::1")
    assert rate_subject("::ffff:192.0.2.7") == rate_subject("192.0.2.7") == "192.0.2.7"
    assert rate_subject("192.0.2.7") != rate_subject("192.0.2.8")
    assert rate_subject("not an address") == "not an address"


def test_open_reports_per_item_are_capped_for_the_public(db_url: str) -> None:
    svc = build_services(settings_for(db_url, reports_per_item=3))
    with TestClient(create_app(svc.settings, svc)) as c:
        assert [_post(c, "same") for _ in range(4)] == [201, 201, 201, 429]
        with svc.sessions() as s, s.begin():
            key = accounts.create_api_key(s, "flagger", ["report"], "t")
        r = c.post("/v1/reports", json={"item": "same", "category": "csam"}, headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 201  # a site's or flagger's key is not a member of the public


def test_a_new_report_stays_on_the_first_page_after_a_flood(db_url: str) -> None:
    svc = build_services(settings_for(db_url, reports_per_hour=10_000, flood_reports=100))
    with TestClient(create_app(svc.settings, svc)) as c:
        mod = Env(c, svc).login("moderator")
        assert "Report flood" not in mod.get("/console").text
        for i in range(200):
            assert _post(c, f"flood-{i}") == 201
        assert _post(c, "the-real-one") == 201
        with svc.sessions() as s, s.begin():
            key = accounts.create_api_key(s, "mod", ["cases"], "t")
        page = c.get("/v1/cases", params={"limit": 20}, headers={"Authorization": f"Bearer {key}"}).json()["cases"]
        items = [x["item"] for x in page]
        assert "the-real-one" in items[:4], items
        assert len(set(items)) == len(items) == 20
        console = mod.get("/console").text
        assert "Report flood" in console and "the-real-one" in console
