"""Whatever a client sends to any of the proxy's routes, the answer is a well-formed XML document with
status 200 or 404 (or a redirect from the router's trailing-slash handling): never a 500, never a crash."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import quote

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ig_fake_indexer import UPSTREAM_KEY, FakeIndexer
from ig_helpers import term_list
from starlette.testclient import TestClient

from indexguard.integrations.identity import build_screener
from indexguard.integrations.proxy_indexers import Indexer
from indexguard.integrations.torznab_proxy import ProxyConfig, make_proxy_app

FAKE = FakeIndexer()
FAKE.base = "http://indexer.example"


def _upstream(request: httpx.Request) -> httpx.Response:
    params = dict(request.url.params)
    if request.url.path.startswith("/get/"):
        return httpx.Response(200, content=FAKE.torrent(int(request.url.path.rsplit("/", 1)[1]) % len(FAKE.items)))
    if params.get("t") == "caps":
        return httpx.Response(200, content=b"<caps><searching/><categories/></caps>")
    if params.get("q", "").startswith("x"):
        return httpx.Response(200, content=b"<rss><channel><item><title>broken")  # unreadable upstream
    return httpx.Response(200, content=FAKE.feed(0, 100).encode())


CFG = ProxyConfig(indexers=(Indexer("one", "http://indexer.example/api", UPSTREAM_KEY),
                            Indexer("two", "http://indexer.example/api", UPSTREAM_KEY)),
                  transport=httpx.MockTransport(_upstream))
CLIENT = TestClient(make_proxy_app(CFG, build_screener([term_list()])), follow_redirects=False)

PATHS = st.sampled_from(["/api", "/api/v2.0/indexers/{}/results/torznab", "/api/v2.0/indexers/{}/results/torznab/api",
                         "/dl/{}", "/dl/{}.torrent"])
IDS = st.one_of(st.sampled_from(["one", "two", "all", "ALL", "nosuch", "a/b", "..", "AAAAAAAAAAAAAAAAAAAAAA"]),
                st.text(min_size=1, max_size=30))
PARAMS = st.dictionaries(
    st.sampled_from(["t", "T", "q", "offset", "limit", "cat", "apikey", "imdbid", "season", "ep", "extended",
                     "configured", "o", "attrs"]),
    st.one_of(st.sampled_from(["search", "tvsearch", "caps", "indexers", "get", "movie", "0", "-1", "100", "xyz",
                               "zorblat", ""]), st.text(max_size=40)),
    max_size=6)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PATHS, IDS, PARAMS)
def test_every_route_answers_xml_and_never_500(path: str, ident: str, params: dict[str, str]) -> None:
    r = CLIENT.get(path.format(quote(ident, safe="")), params=params)
    assert r.status_code in (200, 404, 307), (r.status_code, r.text[:200])
    if r.status_code != 307:
        assert r.content.startswith(b"<"), (path, ident, params, r.status_code, r.content[:200])
        root = ET.fromstring(r.content)
        assert root.tag in ("rss", "caps", "error", "indexers")
        assert UPSTREAM_KEY.encode() not in r.content
