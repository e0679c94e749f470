"""The request shapes of real clients, replayed against the proxy over real HTTP on 127.0.0.1 (the
clients themselves are not installed in CI; docs/integrations.md says how each was tried for real):

- qBittorrent's Jackett search plugin (qbittorrent/search-plugins, nova3/engines/jackett.py 4.10):
  `t=indexers&configured=true` on `/api/v2.0/indexers/all/results/torznab/api`, then per indexer a
  search *without* `t` (`apikey`, `q`, optional `cat`), reading `link` or the `magneturl` attribute,
  `seeders`/`peers`, `jackettindexer`, `comments`/`guid` and an RFC 822 `pubDate`; downloads by
  plain GET of the link with a browser User-Agent (nova2dl.py -> helpers.download_file).
- FlexGet 3.22 (`torznab` search plugin and `rss` input + `download` output): `{url}/api?extended=1&
  apikey=..&t=caps`, then `t=search|tvsearch|movie` with `q`, `cat`, ids; it names a download after
  Content-Disposition's `filename`, else after the last URL path segment.
- Prowlarr / Sonarr / Radarr as a generic Torznab indexer: `t=caps`, then `t=search|tvsearch|movie`
  with `cat`, `extended=1`, `offset`, `limit` and `imdbid`/`tvdbid`/`tmdbid`/`season`/`ep`.
"""

from __future__ import annotations

import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import datetime
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import pytest
from ig_fake_indexer import UPSTREAM_KEY, FakeIndexer
from ig_helpers import ServerThread, term_list

from indexguard.integrations.identity import build_screener
from indexguard.integrations.proxy_indexers import load_indexers
from indexguard.integrations.torznab_proxy import ProxyConfig, make_proxy_app
from indexguard.screen.deny_set import DenyRecord, MemoryDenySet

KEY = "clientkey987"
TZ = "{http://torznab.com/schemas/2015/feed}"
KEPT = ["Public.Domain.Show.S01E01", "Public.Domain.Show.S01E06", "Public.Domain.Show.S01E07",
        "Public.Domain.Show.S01E08", "Public.Domain.Show.S01E09"]
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:150.0) Gecko/20100101 Firefox/150.0"


class TwoIndexers:
    """Two fake indexers behind one proxy configured from a TOML file: `alpha` sends
    Content-Disposition with downloads, `beta` does not; beta's items are a day newer."""

    def __init__(self, serve: Callable[[Any], ServerThread], tmp: Path) -> None:
        self.alpha = FakeIndexer(name="alpha", day=6)
        self.beta = FakeIndexer(name="beta", disposition=False, day=7)
        for ix in (self.alpha, self.beta):
            ix.base = serve(ix.app()).url
        conf = tmp / "indexers.toml"
        conf.write_text(
            f'[indexers.alpha]\nurl = "{self.alpha.base}/api"\napikey_env = "A_KEY"\nname = "Alpha"\n\n'
            f'[indexers.beta]\nurl = "{self.beta.base}/api"\napikey_env = "B_KEY"\n', encoding="utf-8")
        indexers = load_indexers(conf, {"A_KEY": UPSTREAM_KEY, "B_KEY": UPSTREAM_KEY})
        deny = MemoryDenySet()
        deny.add({"infohash": ["ab" * 20]}, DenyRecord("earlier-decision"))
        cfg = ProxyConfig(indexers=indexers, apikeys=frozenset({KEY}))
        self.proxy = serve(make_proxy_app(cfg, build_screener([term_list()], deny=deny)))
        self.url = self.proxy.url


@pytest.fixture
def two(serve: Callable[[Any], ServerThread], tmp_path: Path) -> TwoIndexers:
    return TwoIndexers(serve, tmp_path)


# --- qBittorrent's Jackett plugin -------------------------------------------------------------

def _urllib_get(url: str, headers: dict[str, str] | None = None) -> bytes:
    # The plugin uses urllib (build_opener with a cookie processor for searches, urlopen for downloads).
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as r:
        data: bytes = r.read()
        return data


def _plugin_search(base: str, what: str, category: list[str] | None) -> list[dict[str, Any]]:
    """What jackett.py does for one search with thread_count > 1: list the indexers, then search each."""
    listing = ET.fromstring(_urllib_get(
        f"{base}/api/v2.0/indexers/all/results/torznab/api?"
        + urlencode([("apikey", KEY), ("t", "indexers"), ("configured", "true")])).decode("utf-8"))
    rows: list[dict[str, Any]] = []
    for indexer_id in [i.attrib["id"] for i in listing.findall("indexer")]:
        params = [("apikey", KEY), ("q", what)] + ([("cat", ",".join(category))] if category else [])
        root = ET.fromstring(_urllib_get(
            f"{base}/api/v2.0/indexers/{indexer_id}/results/torznab/api?{urlencode(params)}").decode("utf-8"))
        channel = root.find("channel")
        assert channel is not None
        for result in channel.findall("item"):
            magnet = result.find(f'./{TZ}attr[@name="magneturl"]')
            link = magnet.attrib["value"] if magnet is not None else result.findtext("link")
            seeds = result.find(f'./{TZ}attr[@name="seeders"]')
            date = datetime.strptime(result.findtext("pubDate") or "", "%a, %d %b %Y %H:%M:%S %z")
            rows.append({"name": result.findtext("title"), "link": link, "tracker": result.findtext("jackettindexer"),
                         "indexer": indexer_id, "seeds": int(seeds.attrib["value"]) if seeds is not None else -1,
                         "desc_link": result.findtext("comments") or result.findtext("guid"), "pub_date": date})
    return rows


def test_qbittorrent_plugin_finds_kept_items_on_every_indexer(two: TwoIndexers) -> None:
    rows = _plugin_search(two.url, "public domain show", None)
    for indexer in ("alpha", "beta"):
        assert [r["name"] for r in rows if r["indexer"] == indexer] == KEPT
    assert {r["tracker"] for r in rows if r["indexer"] == "alpha"} == {"Alpha"}
    assert {r["tracker"] for r in rows if r["indexer"] == "beta"} == {"beta"}
    assert all(r["link"].startswith(two.url + "/dl/") for r in rows)
    # the plugin's category search (tv -> 5000) reaches the upstream unchanged
    _plugin_search(two.url, "public domain show", ["5000"])
    assert two.alpha.requests[-1]["cat"] == "5000" and two.alpha.requests[-1]["t"] == "search"


def test_qbittorrent_plugin_gets_nothing_for_a_blocked_search(two: TwoIndexers) -> None:
    assert _plugin_search(two.url, "zorblat", None) == []
    assert all(r.get("t") != "search" for r in two.alpha.requests + two.beta.requests)


def test_qbittorrent_plugin_downloads_kept_items_byte_identical(two: TwoIndexers) -> None:
    rows = {(r["indexer"], r["name"]): r for r in _plugin_search(two.url, "public domain show", None)}
    for indexer, fake in (("alpha", two.alpha), ("beta", two.beta)):
        got = _urllib_get(rows[(indexer, KEPT[0])]["link"], {"User-Agent": FIREFOX})
        assert got == fake.torrent(0)
        # a kept item whose .torrent is flagged fails the download (qBittorrent shows an error)
        with pytest.raises(urllib.error.HTTPError) as e:
            _urllib_get(rows[(indexer, "Public.Domain.Show.S01E07")]["link"], {"User-Agent": FIREFOX})
        assert e.value.code == 404


def test_qbittorrent_plugin_single_thread_uses_all(two: TwoIndexers) -> None:
    # thread_count 1: one search on the aggregate, results of both indexers, newest (beta) first
    root = ET.fromstring(_urllib_get(f"{two.url}/api/v2.0/indexers/all/results/torznab/api?"
                                     + urlencode([("apikey", KEY), ("q", "public domain show")])))
    items = root.findall("channel/item")
    assert [i.findtext("jackettindexer") for i in items] == ["beta"] * 5 + ["Alpha"] * 5
    assert [i.findtext("title") for i in items] == KEPT * 2


# --- FlexGet -------------------------------------------------------------------------------

def _filename(response: httpx.Response) -> str:
    """FlexGet's download plugin: Content-Disposition's filename, else the URL's last path segment."""
    header = response.headers.get("content-disposition")
    if header:
        msg = Message()
        msg["content-disposition"] = header
        name = msg.get_param("filename", header="content-disposition")
        if isinstance(name, str):
            return name
    return urlsplit(str(response.url)).path.rsplit("/", 1)[1]


@pytest.mark.parametrize("indexer", ["alpha", "beta"])
def test_flexget_torznab_search_and_download(two: TwoIndexers, indexer: str) -> None:
    base = f"{two.url}/api/v2.0/indexers/{indexer}/results/torznab"
    ua = {"User-Agent": "FlexGet/3.22.8 (www.flexget.com)"}
    caps = ET.fromstring(httpx.get(f"{base}/api?" + urlencode({"extended": 1, "apikey": KEY, "t": "caps"}),
                                   headers=ua, timeout=10).content)
    searching = {s.tag: s.attrib for s in caps.find("searching") or []}
    assert searching["search"]["available"] == "yes"
    feed = ET.fromstring(httpx.get(f"{base}/api?" + urlencode({"extended": 1, "apikey": KEY, "t": "search",
                                                               "q": "public domain show"}),
                                   headers=ua, timeout=10).content)
    saved: dict[str, bytes] = {}
    for item in feed.iter("item"):
        enclosure = item.find("enclosure")
        assert enclosure is not None and "x-bittorrent" in enclosure.attrib["type"]
        r = httpx.get(enclosure.attrib["url"], headers=ua, timeout=10)
        if r.status_code == 200:
            saved[_filename(r)] = r.content
    fake = two.alpha if indexer == "alpha" else two.beta
    index = {it.title: n for n, it in enumerate(fake.items)}
    expected = {f"{t}.torrent": fake.torrent(index[t]) for t in KEPT if t != "Public.Domain.Show.S01E07"}
    assert saved == expected  # every kept download saved, named after its title, byte-identical


def test_flexget_rss_input_of_the_aggregate(two: TwoIndexers) -> None:
    feed = ET.fromstring(httpx.get(f"{two.url}/api/v2.0/indexers/all/results/torznab/api",
                                   params={"apikey": KEY, "t": "search", "q": "public"}, timeout=10).content)
    links = [i.findtext("link") or "" for i in feed.iter("item")]
    assert len(links) == 10 and all(len(urlsplit(u).path) < 40 for u in links)  # short: no token in the name


# --- Prowlarr, Sonarr, Radarr (generic Torznab) ------------------------------------------------

@pytest.mark.parametrize("path", ["/api", "/api/v2.0/indexers/alpha/results/torznab/api"])
def test_arr_apps_request_shapes_pass_through(two: TwoIndexers, path: str) -> None:
    url = two.url + path
    caps = httpx.get(url, params={"t": "caps", "apikey": KEY}, timeout=10)
    assert caps.status_code == 200 and ET.fromstring(caps.content).tag == "caps"
    shapes = [
        # Prowlarr's indexer test and RSS sync
        {"t": "search", "cat": "2000,5000", "extended": "1", "offset": "0", "limit": "100"},
        # Sonarr
        {"t": "tvsearch", "cat": "5030,5040", "extended": "1", "offset": "0", "limit": "100", "tvdbid": "81189",
         "season": "1", "ep": "2"},
        # Radarr
        {"t": "search", "cat": "2000", "extended": "1", "offset": "0", "limit": "100", "imdbid": "tt0000001",
         "tmdbid": "603", "attrs": "seeders,peers"},
    ]
    for shape in shapes:
        r = httpx.get(url, params=shape | {"apikey": KEY}, timeout=10)
        assert r.status_code == 200 and ET.fromstring(r.content).tag == "rss"
        sent = two.alpha.requests[-1]
        relayed = {k: v for k, v in shape.items() if k not in ("offset", "limit")}
        assert {k: sent.get(k) for k in relayed} == relayed
        assert sent["apikey"] == UPSTREAM_KEY


def test_aggregate_caps_merge_both_indexers(two: TwoIndexers) -> None:
    caps = ET.fromstring(httpx.get(f"{two.url}/api/v2.0/indexers/all/results/torznab/api",
                                   params={"t": "caps", "apikey": KEY}, timeout=10).content)
    assert [c.get("id") for c in caps.iter("category")] == ["2000", "5000"]
    assert caps.find("searching/tv-search") is not None
