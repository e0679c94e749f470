"""The Torznab/Newznab proxy in front of a local fake indexer, exercised by the `torznab` client
from PyPI (torznab 0.2.1, MIT: its `Torznab.search_torrent`, `get_capabilities` and
`parse_torznab`) over real HTTP on 127.0.0.1."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import torznab
from ig_fake_indexer import UPSTREAM_KEY, FakeIndexer, FakeItem
from ig_helpers import ServerThread, term_list
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from indexguard.integrations.identity import build_screener
from indexguard.integrations.torznab_proxy import BlockEvent, ProxyConfig, make_proxy_app
from indexguard.lists.terms import parse_term_list
from indexguard.screen.deny_set import DenyRecord, MemoryDenySet

CLIENT_KEY = "proxyclientkey42"
CLEAN = ["Public.Domain.Show.S01E01", "Public.Domain.Show.S01E06", "Public.Domain.Show.S01E07",
         "Public.Domain.Show.S01E08", "Public.Domain.Show.S01E09"]
NS = {"torznab": "http://torznab.com/schemas/2015/feed", "newznab": "http://www.newznab.com/DTD/2010/feeds/attributes/"}


class Rig:
    def __init__(self, serve: Callable[[Any], ServerThread], flavor: str = "torznab",
                 items: list[FakeItem] | None = None, **config: Any) -> None:
        self.indexer = FakeIndexer(items, flavor=flavor)
        upstream = serve(self.indexer.app())
        self.indexer.base = upstream.url
        deny = MemoryDenySet()
        deny.add({"infohash": ["ab" * 20]}, DenyRecord("earlier-decision"))
        self.events: list[BlockEvent] = []
        cfg = ProxyConfig(upstream=upstream.url + "/api", upstream_apikey=UPSTREAM_KEY,
                          apikeys=frozenset({CLIENT_KEY}), **config)
        self.proxy = serve(make_proxy_app(cfg, build_screener([term_list()], deny=deny), self.events.append))
        self.api = self.proxy.url + "/api"
        self.bodies: list[bytes] = []

    def get(self, **params: str) -> bytes:
        params.setdefault("apikey", CLIENT_KEY)
        r = httpx.get(self.api, params=params, timeout=10)
        assert r.status_code == 200
        self.bodies.append(r.content)
        return r.content


def _page(body: bytes) -> tuple[list[str], int, int]:
    root = ET.fromstring(body)
    resp = root.find("channel/torznab:response", NS)
    if resp is None:
        resp = root.find("channel/newznab:response", NS)
    assert resp is not None
    titles = [t.title or "" for t in torznab.parse_torznab(body.decode())]
    return titles, int(resp.get("offset", "-1")), int(resp.get("total", "-1"))


@pytest.fixture
def rig(serve: Callable[[Any], ServerThread]) -> Rig:
    return Rig(serve)


def test_client_search_sees_only_clean_items(rig: Rig) -> None:
    client = torznab.Torznab(api_key=CLIENT_KEY, timeout=10)
    items = client.search_torrent("public domain show", rig.api)
    assert [i.title for i in items] == CLEAN
    kinds = sorted(e.kind for e in rig.events)
    assert kinds == ["item"] * 5
    # the deny-set item was refused by identity, the magnet one by the magnet's dn
    views = {r["view"] for e in rig.events for r in e.decision["reasons"]}
    assert "identity:infohash_v1" in views
    assert any(r["field"].startswith("magnet") for e in rig.events for r in e.decision["reasons"])


def test_blocked_query_gives_empty_valid_feed_and_is_recorded_without_text(rig: Rig) -> None:
    client = torznab.Torznab(api_key=CLIENT_KEY, timeout=10)
    assert client.search_torrent("zorblat things", rig.api) == []
    body = rig.get(t="search", q="zorblat things", offset="20")
    titles, offset, total = _page(body)
    assert (titles, offset, total) == ([], 20, 0)
    assert all(e.kind == "query" for e in rig.events) and len(rig.events) == 2
    assert "zorblat" not in repr(rig.events)
    assert not [r for r in rig.indexer.requests if r.get("q", "").startswith("zorblat")]


def test_other_search_functions_and_text_params_are_checked(rig: Rig) -> None:
    for params in ({"t": "tvsearch", "q": "vantu drelo"}, {"t": "book", "author": "quemfix"},
                   {"t": "music", "artist": "x", "album": "zorblat"}, {"t": "movie", "q": "zorblat"}):
        titles, _, total = _page(rig.get(**params))
        assert titles == [] and total == 0
    assert rig.indexer.requests == []


def test_paging_stays_consistent_when_items_are_dropped(rig: Rig) -> None:
    seen: list[str] = []
    totals: list[int] = []
    offset = 0
    while True:
        titles, got_offset, total = _page(rig.get(t="search", q="show", offset=str(offset), limit="2"))
        assert got_offset == offset
        totals.append(total)
        if not titles:
            break
        seen += titles
        offset += len(titles)
    assert seen == CLEAN  # no duplicates, nothing lost, upstream order kept
    assert totals[-1] == len(CLEAN)
    assert all(t >= len(CLEAN) for t in totals)  # an estimate never promises less than exists
    # an offset past the end gives an empty result, as the specification asks
    assert _page(rig.get(t="search", q="show", offset="50", limit="2"))[0] == []


def test_full_page_is_refilled_from_upstream(rig: Rig) -> None:
    titles, _, total = _page(rig.get(t="search", q="show", limit="3"))
    assert titles == CLEAN[:3]  # upstream's first 3 had 2 flagged items; the proxy read on
    assert total >= len(CLEAN)


def test_upstream_key_never_leaks_and_links_go_through_proxy(rig: Rig) -> None:
    client = torznab.Torznab(api_key=CLIENT_KEY, timeout=10)
    items = client.search_torrent("show", rig.api)
    rig.get(t="caps")
    rig.get(t="search", q="show")
    for body in rig.bodies:
        assert UPSTREAM_KEY.encode() not in body
    for it in items:
        assert it.link is not None and re.fullmatch(re.escape(rig.proxy.url) + r"/dl/[\w-]{22}\.torrent", it.link)
        assert UPSTREAM_KEY not in it.link and rig.indexer.base not in it.link
    root = ET.fromstring(rig.bodies[-1])
    for enc in root.iter("enclosure"):
        assert re.fullmatch(re.escape(rig.proxy.url) + r"/dl/[\w-]{22}\.torrent", enc.get("url", ""))
    assert all(r.get("apikey") == UPSTREAM_KEY for r in rig.indexer.requests)


def test_download_through_proxy_is_screened(rig: Rig) -> None:
    client = torznab.Torznab(api_key=CLIENT_KEY, timeout=10)
    items = {i.title: i for i in client.search_torrent("show", rig.api)}
    ok = httpx.get(items["Public.Domain.Show.S01E01"].link or "", timeout=10)
    assert ok.status_code == 200 and ok.headers["content-type"] == "application/x-bittorrent"
    assert ok.content == rig.indexer.torrent(0)  # byte-identical
    # the file name comes from the item title, whatever the upstream called it
    assert ok.headers["content-disposition"].startswith('attachment; filename="Public.Domain.Show.S01E01.torrent"')
    bad = httpx.get(items["Public.Domain.Show.S01E07"].link or "", timeout=10)
    err = ET.fromstring(bad.content)
    assert bad.status_code == 404 and err.tag == "error" and err.get("code") == "300"
    assert [e.kind for e in rig.events if e.kind == "download"] == ["download"]
    for forged in ("/dl/not-a-token.torrent", "/dl/" + "A" * 22 + ".torrent", "/dl/x"):
        r = httpx.get(rig.proxy.url + forged, timeout=10)
        assert (r.status_code, r.content) == (bad.status_code, bad.content)


def test_caps_pass_through(rig: Rig) -> None:
    caps = torznab.Torznab(api_key=CLIENT_KEY, timeout=10).get_capabilities(rig.api)
    assert caps.limits is not None and caps.limits.max == 100
    assert [c.id for c in caps.categories] == [2000, 5000]
    assert caps.searching is not None and caps.searching.tv_search is not None


def test_wrong_client_key_is_error_100(rig: Rig) -> None:
    with pytest.raises(torznab.TorznabAPIError) as e:
        torznab.Torznab(api_key=UPSTREAM_KEY, timeout=10).search_torrent("show", rig.api)
    assert e.value.code == 100
    assert rig.indexer.requests == []


@pytest.mark.parametrize(("params", "code"), [
    ({"t": "get", "id": "1"}, "203"), ({"t": "frobnicate"}, "202"),
    ({"t": "search", "offset": "-1"}, "201"), ({"t": "search", "limit": "ten"}, "201"),
    ({"t": "search", "q": "show", "cat": "tv"}, "201"),
])
def test_errors_follow_spec_codes(rig: Rig, params: dict[str, str], code: str) -> None:
    root = ET.fromstring(rig.get(**params))
    assert root.tag == "error" and root.get("code") == code


def test_parameter_names_are_case_insensitive(rig: Rig) -> None:
    titles, _, _ = _page(rig.get(T="search", Q="zorblat"))
    assert titles == []
    assert rig.events and rig.events[0].kind == "query"


def test_unreadable_upstream_fails_closed(rig: Rig) -> None:
    rig.indexer.broken = True
    root = ET.fromstring(rig.get(t="search", q="show"))
    assert root.tag == "error" and root.get("code") == "900"


def test_unreachable_upstream_is_error_900(serve: Callable[[Any], ServerThread]) -> None:
    cfg = ProxyConfig(upstream="http://127.0.0.1:9/api", timeout=2)
    proxy = serve(make_proxy_app(cfg, build_screener([term_list()])))
    root = ET.fromstring(httpx.get(proxy.url + "/api", params={"t": "search", "q": "x"}, timeout=10).content)
    assert root.get("code") == "900"


def test_newznab_feed_keeps_its_namespace(serve: Callable[[Any], ServerThread]) -> None:
    rig = Rig(serve, flavor="newznab")
    body = rig.get(t="search", q="show")
    root = ET.fromstring(body)
    assert root.find("channel/newznab:response", NS) is not None
    titles = [i.findtext("title") for i in root.iter("item")]
    assert titles == CLEAN
    assert b"xmlns:newznab" in body


def test_a_list_reload_applies_to_items_screened_before(serve: Callable[[Any], ServerThread]) -> None:
    # The proxy remembers what it made of each item; a new screener (a list reload) must void that.
    indexer = FakeIndexer()
    indexer.base = serve(indexer.app()).url
    lenient = build_screener([parse_term_list("zorblat\n", "one", "txt")])
    strict = build_screener([parse_term_list("zorblat\nS01E08\n", "two", "txt")])
    current = [lenient]
    cfg = ProxyConfig(upstream=indexer.base + "/api", upstream_apikey=UPSTREAM_KEY)
    proxy = serve(make_proxy_app(cfg, lambda: current[0]))
    titles = lambda q: _page(httpx.get(proxy.url + "/api", params={"t": "search", "q": q}, timeout=10).content)[0]  # noqa: E731
    assert "Public.Domain.Show.S01E08" in titles("first")
    assert "Public.Domain.Show.S01E08" in titles("second")  # same items, another search
    current[0] = strict
    assert "Public.Domain.Show.S01E08" not in titles("third")
    assert "Public.Domain.Show.S01E09" in titles("third")


def test_an_item_repeated_upstream_is_served_each_time(serve: Callable[[Any], ServerThread]) -> None:
    item = ('<item><title>Public.Domain.Show.S02E01</title><link>http://127.0.0.1:1/get/1</link>'
            '<torznab:attr name="seeders" value="3"/></item>')
    feed = ('<?xml version="1.0"?><rss version="2.0" xmlns:torznab="http://torznab.com/schemas/2015/feed">'
            f'<channel><title>t</title>{item * 3}</channel></rss>')

    async def api(request: Any) -> Response:
        return Response(feed, media_type="application/rss+xml")

    upstream = serve(Starlette(routes=[Route("/api", api)]))
    proxy = serve(make_proxy_app(ProxyConfig(upstream=upstream.url + "/api"), build_screener([term_list()])))
    for q in ("first", "second"):  # the second search meets items the proxy has already made
        body = httpx.get(proxy.url + "/api", params={"t": "search", "q": q}, timeout=10).content
        assert _page(body)[0] == ["Public.Domain.Show.S02E01"] * 3


def test_router_mounted_under_a_prefix_links_to_its_own_downloads(serve: Callable[[Any], ServerThread]) -> None:
    from fastapi import FastAPI

    from indexguard.integrations.torznab_proxy import make_proxy_router

    indexer = FakeIndexer()
    indexer.base = serve(indexer.app()).url
    app = FastAPI()
    cfg = ProxyConfig(upstream=indexer.base + "/api", upstream_apikey=UPSTREAM_KEY)
    app.include_router(make_proxy_router(cfg, build_screener([term_list()])), prefix="/torznab")
    service = serve(app)
    for path in ("/torznab/api", "/torznab/api/v2.0/indexers/indexguard/results/torznab/api"):
        feed = ET.fromstring(httpx.get(service.url + path, params={"q": "show"}, timeout=10).content)
        link = feed.findtext("channel/item/link") or ""
        assert link.startswith(service.url + "/torznab/dl/"), link
        r = httpx.get(link, timeout=10)
        assert r.status_code == 200 and r.content == indexer.torrent(0)


@pytest.mark.parametrize("path", ["/api/", "/api/v2.0/indexers/indexguard/results/torznab/",
                                  "/api/v2.0/indexers/all/results/torznab/api/"])
def test_trailing_slashes_are_served_and_unknown_paths_get_xml(rig: Rig, path: str) -> None:
    r = httpx.get(rig.proxy.url + path, params={"t": "caps", "apikey": CLIENT_KEY}, timeout=10)
    assert r.status_code == 200 and ET.fromstring(r.content).tag == "caps"
    missing = httpx.get(rig.proxy.url + "/api/v2.0/other", timeout=10)
    assert missing.status_code == 404 and ET.fromstring(missing.content).get("code") == "202"
