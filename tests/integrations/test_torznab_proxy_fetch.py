"""Where the proxy fetches downloads from: only the indexer's own origin or hosts the configuration
names (and those only at public addresses, pinned), every redirect hop re-checked, and one answer for
every refusal so the proxy cannot be used to probe hosts or ports."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from ig_fake_indexer import UPSTREAM_KEY, FakeIndexer, FakeItem
from ig_helpers import ServerThread, make_torrent, term_list
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from indexguard.integrations.identity import build_screener
from indexguard.integrations.proxy_fetch import is_public
from indexguard.integrations.proxy_indexers import Indexer
from indexguard.integrations.torznab_proxy import ProxyConfig, make_proxy_app

KEY = "fetchclientkey"


def _secret_service() -> Starlette:
    """A loopback service that is not the indexer: it answers 200 with a .torrent to anyone."""
    async def anything(request: Any) -> Response:
        return Response(make_torrent("Internal.Thing"), media_type="application/x-bittorrent")
    return Starlette(routes=[Route("/{path:path}", anything)])


def _closed_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _links(proxy: str) -> dict[str, str]:
    feed = ET.fromstring(httpx.get(proxy + "/api", params={"t": "search", "q": "show", "apikey": KEY},
                                   timeout=10).content)
    return {i.findtext("title") or "": i.findtext("link") or "" for i in feed.iter("item")}


def test_redirects_and_links_to_loopback_or_link_local_are_refused_alike(
        serve: Callable[[Any], ServerThread]) -> None:
    secret = serve(_secret_service())
    indexer = FakeIndexer([])
    indexer.base = serve(indexer.app()).url
    port = indexer.base.rsplit(":", 1)[1]
    own = f"{indexer.base}/get/0?apikey={UPSTREAM_KEY}"
    targets = {
        "ok": own,
        "same-origin-redirect": f"{indexer.base}/redirect?to=/get/0%3Fapikey%3D{UPSTREAM_KEY}",
        "redirect-open-port": f"{indexer.base}/redirect?to={secret.url}/admin",
        "redirect-closed-port": f"{indexer.base}/redirect?to=http://127.0.0.1:{_closed_port()}/x",
        "redirect-link-local": f"{indexer.base}/redirect?to=http://169.254.169.254/latest/meta-data",
        "redirect-other-loopback-name": f"{indexer.base}/redirect?to=http://localhost:{port}/get/0",
        "redirect-private": f"{indexer.base}/redirect?to=http://10.1.2.3/x.torrent",
        "link-open-port": f"{secret.url}/x.torrent",
        "link-ipv6-loopback": f"http://[::1]:{port}/get/0",
        "blocked-content": f"{indexer.base}/get/1?apikey={UPSTREAM_KEY}",
    }
    indexer.items = [FakeItem("Ordinary.Item"), FakeItem("Flagged.Item", torrent_name="zorblat pack")]
    indexer.items += [FakeItem(name, download=url) for name, url in targets.items()]
    cfg = ProxyConfig(upstream=indexer.base + "/api", upstream_apikey=UPSTREAM_KEY, apikeys=frozenset({KEY}),
                      timeout=5)
    proxy = serve(make_proxy_app(cfg, build_screener([term_list()])))
    links = _links(proxy.url)
    answers = {name: httpx.get(links[name], timeout=15) for name in targets}
    assert answers["ok"].status_code == 200 and answers["ok"].content == indexer.torrent(0)
    assert answers["same-origin-redirect"].content == indexer.torrent(0)
    refused = [name for name in targets if name not in ("ok", "same-origin-redirect")]
    unknown = httpx.get(proxy.url + "/dl/AAAAAAAAAAAAAAAAAAAAAA.torrent", timeout=10)
    for name in refused:
        r = answers[name]
        assert (r.status_code, r.content, r.headers["content-type"]) == (
            unknown.status_code, unknown.content, unknown.headers["content-type"]), name
    assert unknown.status_code == 404 and ET.fromstring(unknown.content).get("code") == "300"


def _mock_world(hits: list[httpx.Request]) -> httpx.MockTransport:
    """An indexer at indexer.example whose items link to other hosts; files.example serves torrents."""
    indexer = FakeIndexer([
        FakeItem("Named.Public.Host", download="http://files.example/a.torrent"),
        FakeItem("Named.Host.Redirecting.Inside", download="http://files.example/to-loopback"),
        FakeItem("Named.Private.Host", download="http://intranet.example/a.torrent"),
        FakeItem("Unnamed.Public.Host", download="http://other.example/a.torrent"),
        FakeItem("Named.Https.Host", download="https://files.example:8443/b.torrent"),
    ])
    indexer.base = "http://indexer.example"

    def handle(request: httpx.Request) -> httpx.Response:
        hits.append(request)
        if request.url.host == "indexer.example":
            return httpx.Response(200, content=indexer.feed(0, 100).encode())
        if request.url.path == "/to-loopback":
            return httpx.Response(302, headers={"location": "http://127.0.0.1:9117/api?t=caps"})
        return httpx.Response(200, content=make_torrent("Fetched." + request.url.path.strip("/")))

    return httpx.MockTransport(handle)


async def _resolve(host: str, port: int) -> list[str]:
    return {"files.example": ["93.184.216.34"], "intranet.example": ["10.0.0.5"],
            "other.example": ["93.184.216.35"]}[host]


def test_named_download_hosts_are_fetched_at_the_checked_public_address(
        serve: Callable[[Any], ServerThread]) -> None:
    hits: list[httpx.Request] = []
    indexer = Indexer("x", "http://indexer.example/api", UPSTREAM_KEY,
                      download_hosts=frozenset({"files.example", "files.example:8443", "intranet.example"}))
    cfg = ProxyConfig(indexers=(indexer,), apikeys=frozenset({KEY}), transport=_mock_world(hits), resolve=_resolve)
    proxy = serve(make_proxy_app(cfg, build_screener([term_list()])))
    links = _links(proxy.url)
    ok = httpx.get(links["Named.Public.Host"], timeout=10)
    assert ok.status_code == 200 and ok.content == make_torrent("Fetched.a.torrent")
    pinned = hits[-1]
    assert (pinned.url.host, pinned.url.port, pinned.headers["host"]) == ("93.184.216.34", None, "files.example")
    tls = httpx.get(links["Named.Https.Host"], timeout=10)
    assert tls.status_code == 200
    assert (hits[-1].url.host, hits[-1].headers["host"], hits[-1].extensions.get("sni_hostname")) == (
        "93.184.216.34", "files.example:8443", "files.example")
    before = len(hits)
    for name in ("Named.Host.Redirecting.Inside", "Named.Private.Host", "Unnamed.Public.Host"):
        r = httpx.get(links[name], timeout=10)
        assert (r.status_code, r.content) == (404, b'<?xml version="1.0" encoding="UTF-8"?>\n'
                                               b'<error code="300" description="No such item"/>\n'), name
    # the redirect to loopback was read from files.example but never followed; the other two never left
    assert [str(h.url) for h in hits[before:]] == ["http://93.184.216.34/to-loopback"]


@pytest.mark.parametrize(("address", "public"), [
    ("93.184.216.34", True), ("2606:2800:220:1:248:1893:25c8:1946", True), ("127.0.0.1", False),
    ("10.0.0.1", False), ("172.16.5.4", False), ("192.168.1.1", False), ("169.254.169.254", False),
    ("::1", False), ("fe80::1%eth0", False), ("fc00::1", False), ("::ffff:127.0.0.1", False), ("0.0.0.0", False),
    ("100.64.0.1", False), ("224.0.0.1", False), ("not-an-ip", False),
])
def test_public_address_check(address: str, public: bool) -> None:
    assert is_public(address) is public
