"""A Torznab/Newznab filtering proxy: put it between clients (Prowlarr, Jackett users, the *arr apps,
qBittorrent's Jackett plugin, FlexGet) and one or more compliant indexers.

- Paths: the Newznab/Torznab `/api`, and Jackett's `/api/v2.0/indexers/{id}/results/torznab[/api]`
  with `all` fanning out over every configured indexer and merging newest first, as Jackett does.
- `t=caps` passes through (merged for `all`); `t=indexers` lists the indexers as Jackett does; a
  request without `t` is a search, as in Jackett.
- Search functions (search, tvsearch, movie, music, book) have their free-text parameters screened
  first; a blocked query gets an empty, valid feed and is reported to `on_block` without its text.
  Every other parameter (cat, imdbid, tvdbid, tmdbid, season, ep, extended, attrs, ...) is relayed.
- Every result item is screened (title, description, text attributes, infohash against the deny
  set and hash lists, magnet). Items whose action is in `drop_actions` vanish; the proxy keeps
  paging upstream so a page is full, and `offset`/`total` count the filtered sequence.
- Download links become short proxy links (`/dl/<id>.torrent`, see proxy_links); a fetched
  .torrent/.nzb comes only from where the indexer may send it (see proxy_fetch), is screened, and is
  handed over with a file name made from the item title, or refused with a non-2xx status.
- Clients authenticate with the proxy's own keys; upstream keys are scrubbed from everything relayed.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
import traceback
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
from fastapi import APIRouter
from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from indexguard.errors import IndexguardError
from indexguard.integrations import proxy_http
from indexguard.integrations import torznab_feed as tf
from indexguard.integrations.proxy_fetch import DownloadRefused, GuardedFetcher, Resolver, system_resolve
from indexguard.integrations.proxy_indexers import Indexer, single_indexer
from indexguard.integrations.proxy_items import Answer, ItemCache, Outcome, answer_key
from indexguard.integrations.proxy_links import LinkTable, content_disposition, safe_filename
from indexguard.screen.decision import Decision
from indexguard.screen.item import Item
from indexguard.screen.screener import Screener

log = logging.getLogger(__name__)

SEARCH_FUNCTIONS = frozenset(("search", "tvsearch", "movie", "music", "book"))
# Newznab functions this proxy does not relay: `get` would hand out an NZB unscreened, the others
# act on accounts and carts.
UNRELAYED_FUNCTIONS = frozenset(("details", "getnfo", "get", "cart-add", "cart-del", "cartadd", "cartdel",
                                 "comments", "comments-add", "register", "user"))
# Free-text parameters a search may carry (ids such as imdbid or tvdbid are not text).
TEXT_PARAMS = ("q", "title", "author", "artist", "album", "label", "track", "genre", "tag", "publisher")
# Never relayed upstream: the client's key, and the paging and output format the proxy decides.
LOCAL_PARAMS = ("apikey", "offset", "limit", "o", "t")
JACKETT_PREFIX = "/api/v2.0/indexers/"
ALL = "all"
DEFAULT_LIMIT = 100
RSS_TYPE = "application/rss+xml; charset=utf-8"
XML_TYPE = "application/xml; charset=utf-8"
MEDIA = {"torrent": "application/x-bittorrent", "nzb": "application/x-nzb"}
REFUSED_STATUS = 404

ScreenerSource = Screener | Callable[[], Screener]


@dataclass(frozen=True, slots=True)
class BlockEvent:
    """What was refused: a query, a result item or a download. Never carries the query text or
    a title: only the function, the decision id, the action and the list entries."""

    kind: str  # "query" | "item" | "download"
    function: str
    decision: dict[str, Any]
    at: float = field(default_factory=time.time)


@dataclass(frozen=True)
class ProxyConfig:
    upstream: str = ""  # one upstream API endpoint, e.g. http://127.0.0.1:9117/api/v2.0/indexers/x/results/torznab/api
    upstream_apikey: str | None = None
    indexers: tuple[Indexer, ...] = ()  # several upstreams (see proxy_indexers); replaces `upstream`
    apikeys: frozenset[str] = frozenset()  # what clients must present; empty: no key needed
    public_url: str | None = None  # how clients reach this proxy (its base URL), when behind a reverse proxy
    flavor: str = "torznab"  # namespace of the empty feed a blocked query gets: torznab | newznab
    drop_actions: frozenset[str] = frozenset(("block", "review"))
    timeout: float = 20.0
    max_download_bytes: int = 10 * 1024 * 1024
    link_ttl: int = 6 * 3600
    max_links: int = 100_000
    page_cache_ttl: float = 300.0
    page_cache_size: int = 128
    item_cache_size: int = 20_000
    max_upstream_fetches: int = 8
    max_redirects: int = 5
    transport: httpx.AsyncBaseTransport | None = None
    resolve: Resolver | None = None  # DNS for download hosts named in the config; the system's by default

    def upstreams(self) -> tuple[Indexer, ...]:
        if self.indexers:
            return self.indexers
        if not self.upstream:
            raise ValueError("ProxyConfig needs `upstream` or `indexers`")
        return (single_indexer(self.upstream, self.upstream_apikey),)


class ProxyError(Exception):
    """Answered to the client as a Newznab error document."""

    def __init__(self, code: int, description: str | None = None, status: int = 200) -> None:
        self.code = code
        self.description = description if description is not None else tf.ERROR_CODES.get(code, "Unknown error")
        self.status = status
        super().__init__(f"{code}: {self.description}")


@dataclass
class _Scan:
    """The filtered result sequence of one search on one indexer, as far as it has been read upstream."""

    kept: list[tf.KeptItem] = field(default_factory=list)
    scanned: int = 0
    dropped: int = 0
    upstream_total: int | None = None
    exhausted: bool = False
    template: tf.Template | None = None  # the first answer's document without its items
    created: float = field(default_factory=time.monotonic)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def total(self) -> int:
        if self.exhausted or self.upstream_total is None:
            return len(self.kept)
        return max(self.upstream_total - self.dropped, len(self.kept))


class TorznabProxy:
    def __init__(self, config: ProxyConfig, screener: ScreenerSource,
                 on_block: Callable[[BlockEvent], None] | None = None) -> None:
        self.config = config
        self.indexers = {ix.id: ix for ix in config.upstreams()}
        self._screener = screener
        self.on_block = on_block or _log_block
        self._scans: OrderedDict[str, _Scan] = OrderedDict()
        self._caps: dict[str, tuple[float, bytes]] = {}
        self._links = LinkTable(config.link_ttl, config.max_links)
        self._items = ItemCache(min(config.page_cache_ttl, config.link_ttl / 4), config.item_cache_size)
        self._secrets = _secret_forms(ix.apikey for ix in self.indexers.values())
        self._http_client: httpx.AsyncClient | None = None
        self._http_loop: asyncio.AbstractEventLoop | None = None
        self._api_client: proxy_http.UpstreamClient | None = None
        self._api_loop: asyncio.AbstractEventLoop | None = None
        # The indexers whose API the light client can call (plain http(s) URLs without a query of
        # their own); the others, and every call when a transport is configured, go through httpx.
        self._targets = {ix.id: t for ix in self.indexers.values()
                         if config.transport is None and proxy_http.AVAILABLE
                         and (t := proxy_http.Target.of(ix.url)) is not None}
        self._fetcher = GuardedFetcher(self._http, max_bytes=config.max_download_bytes,
                                       max_redirects=config.max_redirects, resolve=config.resolve or system_resolve)

    # --- endpoints -------------------------------------------------------------------------

    async def api(self, request: Request) -> Response:
        params = _params(request)
        try:
            self._authenticate(params)
            selected, meta = self._select(request.path_params.get("indexer"))
            # Jackett reads a request without `t` as a search; qBittorrent's plugin relies on it.
            function = params.get("t", "").strip().lower() or "search"
            if function == "indexers":
                if not meta:
                    raise ProxyError(203, "Function not available (this is not an aggregate indexer)")
                return await self._indexers(params, _public_base(request, self.config.public_url))
            if function == "caps":
                return await self._caps_response(selected)
            if function in SEARCH_FUNCTIONS:
                return await self._search(function, params, selected,
                                          _public_base(request, self.config.public_url) + "/dl/")
            if function in UNRELAYED_FUNCTIONS:
                raise ProxyError(203)
            raise ProxyError(202)
        except ProxyError as e:
            return self._error(e)
        except Exception as e:  # never a 500 whose logged message could quote a URL, key or search text
            _log_internal(e)
            return self._error(ProxyError(900))

    async def download(self, request: Request) -> Response:
        link_id = request.path_params.get("name", "").split(".", 1)[0]
        link = self._links.get(link_id)
        indexer = self.indexers.get(link.indexer) if link is not None else None
        if link is None or indexer is None:
            log.debug("torznab proxy: download refused (unknown or expired link)")
            return self._refused()
        try:
            fetched = await self._fetcher.get(link.url, indexer)
        except DownloadRefused as e:
            log.debug("torznab proxy: download from indexer %s refused (%s)", indexer.id, e)
            return self._refused()
        except Exception as e:  # e.g. httpx.InvalidURL, whose message holds the URL
            _log_internal(e)
            return self._refused()
        if fetched.magnet is not None:
            return self._magnet(fetched.magnet)
        kind = _sniff(fetched.body, link.kind)
        d = self.screener().screen(Item(id=f"dl-{uuid.uuid4().hex}", kind=kind, raw=fetched.body))  # type: ignore[arg-type]
        if d.action in self.config.drop_actions:
            self._emit("download", "download", d)
            return self._refused()
        disposition = content_disposition(safe_filename(link.title, kind))
        return Response(fetched.body, media_type=MEDIA[kind], headers={"content-disposition": disposition})

    # --- api functions ---------------------------------------------------------------------

    def _authenticate(self, params: dict[str, str]) -> None:
        if not self.config.apikeys:
            return
        given = params.get("apikey", "")
        if not any(hmac.compare_digest(given.encode(), k.encode()) for k in self.config.apikeys):
            raise ProxyError(100)

    def _select(self, path_id: str | None) -> tuple[list[Indexer], bool]:
        """The indexers a request addresses, and whether that is the aggregate (`all`)."""
        everything = list(self.indexers.values())
        if path_id is None:  # plain /api: the one indexer, or all of them
            return everything, len(everything) > 1
        if path_id.lower() == ALL:
            return everything, True
        indexer = self.indexers.get(path_id.lower())
        if indexer is None:
            raise ProxyError(201, "Incorrect parameter (unknown indexer)", status=404)
        return [indexer], False

    async def _indexers(self, params: dict[str, str], base: str) -> Response:
        configured = params.get("configured", "").strip().lower()
        indexers = [] if configured == "false" else list(self.indexers.values())
        caps = await asyncio.gather(*(self._caps_root(ix) for ix in indexers), return_exceptions=True)
        root = etree.Element("indexers")
        for ix, cap in zip(indexers, caps, strict=True):
            el = etree.SubElement(root, "indexer", id=ix.id, configured="true")
            for tag, text in (("title", ix.title), ("description", ix.title), ("link", base + "/"),
                              ("language", "en-US"), ("type", "private")):
                etree.SubElement(el, tag).text = text
            if isinstance(cap, etree._Element):
                el.append(cap)
        return Response(self._scrub(tf.serialize(root)), media_type=XML_TYPE)

    async def _caps_response(self, selected: list[Indexer]) -> Response:
        if len(selected) == 1:
            return Response(await self._caps_bytes(selected[0]), media_type=XML_TYPE)
        roots = [r for r in await asyncio.gather(*(self._caps_root(ix) for ix in selected), return_exceptions=True)
                 if isinstance(r, etree._Element)]
        if not roots:
            raise ProxyError(900, "Unknown error (no upstream indexer answered)")
        return Response(self._scrub(tf.serialize(tf.merge_caps(roots))), media_type=XML_TYPE)

    async def _caps_root(self, indexer: Indexer) -> tf.Element:
        return self._parse(await self._caps_bytes(indexer), indexer)

    async def _caps_bytes(self, indexer: Indexer) -> bytes:
        cached = self._caps.get(indexer.id)
        if cached is not None and time.monotonic() - cached[0] < self.config.page_cache_ttl:
            return cached[1]
        root = self._parse(await self._get_upstream(indexer, {"t": "caps"}), indexer)
        err = tf.upstream_error(root)
        if err is not None:
            raise ProxyError(err.code, err.description)
        body = self._scrub(tf.serialize(root))
        self._caps[indexer.id] = (time.monotonic(), body)
        return body

    async def _search(self, function: str, params: dict[str, str], selected: list[Indexer],
                      dl_base: str) -> Response:
        offset = _non_negative(params, "offset", 0)
        limit = _non_negative(params, "limit", DEFAULT_LIMIT) or DEFAULT_LIMIT
        if self._check_query(function, params):
            ns = tf.NEWZNAB_NS if self.config.flavor == "newznab" else tf.TORZNAB_NS
            return Response(tf.empty_feed(ns, offset=offset), media_type=RSS_TYPE)
        need = offset + limit
        if len(selected) == 1:
            scan = await self._filled(selected[0], function, params, need, limit, dl_base)
            return self._page(scan, scan.kept[offset:need], offset, scan.total())
        results = await asyncio.gather(*(self._filled(ix, function, params, need, limit, dl_base)
                                         for ix in selected), return_exceptions=True)
        scans = [r for r in results if isinstance(r, _Scan)]
        for ix, r in zip(selected, results, strict=True):
            if isinstance(r, ProxyError):
                log.warning("torznab proxy: indexer %s left out of an aggregate search (error %s)", ix.id, r.code)
            elif isinstance(r, BaseException):
                raise r
        if not scans:
            first = next(r for r in results if isinstance(r, ProxyError))
            raise first
        merged = _newest_first([scan.kept[:need] for scan in scans])
        return self._page(scans[0], merged[offset:need], offset, sum(s.total() for s in scans))

    def _page(self, scan: _Scan, items: list[tf.KeptItem], offset: int, total: int) -> Response:
        assert scan.template is not None
        return Response(self._scrub(scan.template.render(items, offset, total)), media_type=RSS_TYPE)

    def _check_query(self, function: str, params: dict[str, str]) -> bool:
        texts = [params[p] for p in TEXT_PARAMS if params.get(p, "").strip()]
        if not texts:
            return False
        screener = self.screener()
        for text in texts:
            d = screener.query(text, id=f"q-{uuid.uuid4().hex}")
            if d.action == "block":
                self._emit("query", function, d)
                return True
        return False

    async def _filled(self, indexer: Indexer, function: str, params: dict[str, str], need: int, chunk: int,
                      dl_base: str) -> _Scan:
        scan = self._scan_for(indexer, function, params, dl_base)
        async with scan.lock:  # two requests for the same search must not read the same upstream page twice
            await self._fill(scan, indexer, function, params, need, chunk, dl_base)
        return scan

    def _scan_for(self, indexer: Indexer, function: str, params: dict[str, str], dl_base: str) -> _Scan:
        key = _scan_key(indexer.id, function, params, dl_base)
        now = time.monotonic()
        while self._scans:
            oldest_key, oldest = next(iter(self._scans.items()))
            if now - oldest.created <= self.config.page_cache_ttl:
                break
            del self._scans[oldest_key]
        scan = self._scans.get(key)
        if scan is None or now - scan.created > self.config.page_cache_ttl:
            scan = self._scans[key] = _Scan()
            while len(self._scans) > self.config.page_cache_size:
                self._scans.popitem(last=False)
        self._scans.move_to_end(key)
        return scan

    async def _fill(self, scan: _Scan, indexer: Indexer, function: str, params: dict[str, str], need: int,
                    chunk: int, dl_base: str) -> None:
        fetches = 0
        while (len(scan.kept) < need and not scan.exhausted) or scan.template is None:
            if fetches >= self.config.max_upstream_fetches:
                return  # bounded work per request; the next page request continues the scan
            fetches += 1
            query = _passthrough(params) | {"t": function, "offset": str(scan.scanned), "limit": str(chunk)}
            answer = self._answer(await self._get_upstream(indexer, query), indexer, dl_base)
            for outcome in answer.outcomes:
                if isinstance(outcome, tf.KeptItem):
                    scan.kept.append(outcome)
                else:
                    scan.dropped += 1
                    self._emit("item", function, outcome)
            n = len(answer.outcomes)
            scan.scanned += n
            if scan.template is None:
                scan.template = answer.template
            total = answer.total
            scan.upstream_total = total if total is not None else scan.upstream_total
            if n == 0 or (total is not None and scan.scanned >= total) or (total is None and n < chunk):
                scan.exhausted = True

    def _answer(self, body: bytes, indexer: Indexer, dl_base: str) -> Answer:
        """What an upstream answer comes to: from memory when the same bytes came before (same
        indexer, same lists), else parsed, and its items screened (or found in memory) one by one."""
        screener = self.screener()
        self._items.bind(screener)
        now = time.monotonic()
        key = answer_key(indexer.id, dl_base, body)
        known_answer = self._items.answer(key, now)
        if known_answer is not None:
            return known_answer
        root = self._parse(body, indexer)
        err = tf.upstream_error(root)
        if err is not None:
            raise ProxyError(err.code, err.description)
        feed = self._feed(root, indexer)
        _, total = feed.response()
        keys = [(indexer.id, dl_base, _digest(b)) for b in _item_keys(body, feed)]
        known = [self._items.get(k, now) for k in keys]
        fresh = [tf.read_item(el, i) for i, (el, hit) in enumerate(zip(feed.elements, known, strict=True))
                 if hit is None]
        decisions = iter(screener.screen_many([fi.to_item() for fi in fresh]))
        fresh_items = iter(fresh)
        outcomes: list[Outcome | None] = []
        chosen: list[tuple[int, str]] = []  # the fresh kept items: (index in the answer, pubDate)
        expires = now + self._items.ttl
        for i, (k, hit) in enumerate(zip(keys, known, strict=True)):
            if hit is not None:
                expires = min(expires, hit.expires)  # the links it holds were made for that long
                outcomes.append(hit.kept if hit.kept is not None else _decision(hit.decision))
                continue
            fi, d = next(fresh_items), next(decisions)
            if d.action in self.config.drop_actions:
                self._items.put(k, None, d, now)
                outcomes.append(d)
                continue
            self._rewrite_links(fi, feed.namespace, indexer, dl_base)
            if not fi.has_indexer:
                tf.set_indexer(fi.element, indexer.id, indexer.title)
            chosen.append((i, fi.pub_date))
            outcomes.append(None)  # written below, all at once
        for (i, _), kept in zip(chosen, tf.kept_items(feed, chosen), strict=True):
            # A kept item's decision is not kept: fewer objects for the garbage collector to walk.
            self._items.put(keys[i], kept, None, now)
            outcomes[i] = kept
        answer = Answer(tuple(o for o in outcomes if o is not None), total, tf.make_template(feed))
        self._items.put_answer(key, answer, expires)
        return answer

    # --- links and downloads ---------------------------------------------------------------

    def _rewrite_links(self, fi: tf.FeedItem, namespace: str, indexer: Indexer, dl_base: str) -> None:
        kind = _kind_hint(fi.enclosure_type, namespace)
        if fi.enclosure_el is not None and _is_http(fi.enclosure_url):
            fi.enclosure_el.set("url", self._link(fi.enclosure_url, indexer, kind, fi.title, dl_base))
        if fi.link_el is not None and _is_http(fi.link):
            fi.link_el.text = self._link(fi.link, indexer, kind, fi.title, dl_base)

    def _link(self, url: str, indexer: Indexer, kind: str, title: str, dl_base: str) -> str:
        return f"{dl_base}{self._links.add(url, indexer.id, kind, title)}.{kind}"

    def _magnet(self, uri: str) -> Response:
        d = self.screener().screen(Item(id=f"dl-{uuid.uuid4().hex}", kind="listing", magnet=uri))
        if d.action in self.config.drop_actions:
            self._emit("download", "download", d)
            return self._refused()
        return RedirectResponse(uri, status_code=302)

    def _refused(self) -> Response:
        # One answer for every refusal and failure, whatever the destination did: no port or host oracle.
        return Response(tf.error_document(300), status_code=REFUSED_STATUS, media_type=XML_TYPE)

    # --- plumbing --------------------------------------------------------------------------

    def screener(self) -> Screener:
        return self._screener if isinstance(self._screener, Screener) else self._screener()

    def _http(self) -> httpx.AsyncClient:
        # One pooled client per event loop: a new client per request costs an SSL context (~1 ms).
        loop = asyncio.get_running_loop()
        if self._http_client is None or self._http_loop is not loop:
            self._http_client = httpx.AsyncClient(timeout=self.config.timeout, follow_redirects=False,
                                                  transport=self.config.transport, trust_env=False)
            self._http_loop = loop
        return self._http_client

    def _api(self) -> proxy_http.UpstreamClient:
        loop = asyncio.get_running_loop()
        if self._api_client is None or self._api_loop is not loop:
            self._api_client = proxy_http.UpstreamClient(self.config.timeout, tf.MAX_FEED_BYTES)
            self._api_loop = loop
        return self._api_client

    async def _get_upstream(self, indexer: Indexer, params: dict[str, str]) -> bytes:
        query = dict(params)
        if indexer.apikey:
            query["apikey"] = indexer.apikey
        target = self._targets.get(indexer.id)
        if target is not None:
            try:
                reply = await self._api().get(target, query)
            except proxy_http.UpstreamTooLarge:
                raise ProxyError(900, "Unknown error (the upstream answer is too large)") from None
            except proxy_http.UpstreamFailed:
                raise ProxyError(900, "Unknown error (the upstream indexer is unreachable)") from None
            if reply.status != 200:
                raise ProxyError(900, f"Unknown error (the upstream indexer answered HTTP {reply.status})")
            return reply.body
        try:
            resp = await self._http().get(indexer.url, params=query)
        except httpx.HTTPError:
            raise ProxyError(900, "Unknown error (the upstream indexer is unreachable)") from None
        if resp.status_code != 200:
            raise ProxyError(900, f"Unknown error (the upstream indexer answered HTTP {resp.status_code})")
        if len(resp.content) > tf.MAX_FEED_BYTES:
            raise ProxyError(900, "Unknown error (the upstream answer is too large)")
        return resp.content

    def _parse(self, body: bytes, indexer: Indexer) -> tf.Element:
        try:
            return tf.parse_document(body)
        except IndexguardError as e:
            # Fail closed: nothing we cannot read reaches the client. The reason names no content.
            log.warning("torznab proxy: unreadable answer from indexer %s (%s)", indexer.id, type(e).__name__)
            raise ProxyError(900, "Unknown error (the upstream answer could not be read)") from None

    def _feed(self, root: tf.Element, indexer: Indexer) -> tf.Feed:
        try:
            return tf.feed_from_root(root, read_items=False)
        except IndexguardError as e:
            log.warning("torznab proxy: indexer %s answered something else than a feed (%s)", indexer.id,
                        type(e).__name__)
            raise ProxyError(900, "Unknown error (the upstream answer is not a result feed)") from None

    def _scrub(self, body: bytes) -> bytes:
        for form in self._secrets:
            if form in body:
                body = body.replace(form, b"REDACTED")
        return body

    def _error(self, e: ProxyError) -> Response:
        return Response(self._scrub(tf.error_document(e.code, e.description)), status_code=e.status,
                        media_type=XML_TYPE)

    def _emit(self, kind: str, function: str, d: Decision) -> None:
        payload = d.to_json()
        payload.pop("deterrence", None)
        for r in payload.get("reasons", []):
            r.pop("detail", None)
        try:
            self.on_block(BlockEvent(kind, function, payload))
        except Exception:  # a failing recorder must not turn a refusal into an error page
            log.exception("torznab proxy: on_block callback failed")


def _log_internal(e: BaseException) -> None:
    """An unexpected error: where it happened, never its message (which may quote a URL or a query)."""
    frames = traceback.extract_tb(e.__traceback__)[-4:]
    where = " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(frames))
    log.error("torznab proxy: internal error %s at %s", type(e).__name__, where)


def _log_block(event: BlockEvent) -> None:
    entries = ", ".join(f"{r['list']}:{r['entry']}" for r in event.decision.get("reasons", []))
    log.info("torznab proxy: blocked %s (function=%s, decision=%s, entries=%s)", event.kind, event.function,
             event.decision.get("id"), entries)


def _secret_forms(keys: Iterable[str | None]) -> tuple[bytes, ...]:
    forms = {f for k in keys if k for f in (k, quote(k, safe=""), quote_plus(k))}
    return tuple(sorted((f.encode() for f in forms), key=len, reverse=True))


def _params(request: Request) -> dict[str, str]:
    # The specification: parameter names are case-insensitive.
    return {k.lower(): v for k, v in request.query_params.multi_items()}


def _passthrough(params: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in params.items() if k not in LOCAL_PARAMS}


def _non_negative(params: dict[str, str], name: str, default: int) -> int:
    raw = params.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or len(raw) > 9:
        raise ProxyError(201, f"Incorrect parameter ({name})")
    return int(raw)


def _scan_key(indexer_id: str, function: str, params: dict[str, str], dl_base: str) -> str:
    rest = sorted(_passthrough(params).items())
    return hashlib.sha256(json.dumps([indexer_id, function, rest, dl_base]).encode()).hexdigest()


def _item_keys(body: bytes, feed: tf.Feed) -> list[bytes]:
    """What names each item for the memory of items: its source bytes with the namespace bindings in
    scope (so a prefix bound elsewhere is another item), or else its serialization, which has both."""
    sources = tf.item_bytes(body, len(feed.elements))
    if sources is None:
        return [etree.tostring(el) for el in feed.elements]
    scope = repr(sorted((p or "", u) for p, u in feed.channel.nsmap.items())).encode() + b"\n"
    return [scope + b for b in sources]


def _digest(data: bytes) -> bytes:
    # What names an item in memory: a digest rather than its ~1 KB of bytes, so that the memory of
    # twenty thousand items does not hold twenty megabytes (what it cost cold searches in CPU caches).
    return hashlib.blake2b(data, digest_size=16).digest()


def _decision(d: Decision | None) -> Decision:
    assert d is not None  # a dropped item's entry always holds its decision
    return d


def _newest_first(lists: list[list[tf.KeptItem]]) -> list[tf.KeptItem]:
    dated = [(tf.published(k.pub_date), n, k) for n, kept in enumerate(lists) for k in kept]
    dated.sort(key=lambda t: (-t[0], t[1]))  # stable: equal dates keep indexer order, then upstream order
    return [k for _, _, k in dated]


def _public_base(request: Request, public_url: str | None) -> str:
    """The proxy's base URL as clients reach it: the configured public URL, or this request's
    origin and mount path (everything before `/api`)."""
    if public_url:
        base = public_url.rstrip("/")
        return base[:-4] if base.endswith("/api") else base
    path = request.url.path
    cut = path.find(JACKETT_PREFIX)
    if cut < 0:
        cut = path.rfind("/api")
    prefix = path[:cut] if cut >= 0 else ""
    return str(request.url.replace(path=prefix, query="", fragment="")).rstrip("/")


def _kind_hint(enclosure_type: str, namespace: str) -> str:
    t = enclosure_type.lower()
    if "nzb" in t:
        return "nzb"
    if "bittorrent" in t:
        return "torrent"
    return "nzb" if namespace == tf.NEWZNAB_NS else "torrent"


def _sniff(body: bytes, hint: str) -> str:
    head = body[:512].lstrip()
    if head.startswith(b"d") and b":" in head[:16]:
        return "torrent"
    if head.startswith(b"<") or body[:2] == b"\x1f\x8b":
        return "nzb"
    return hint if hint in MEDIA else "torrent"


def _is_http(url: str) -> bool:
    return url.startswith(("http://", "https://")) or url[:8].lower().startswith(("http://", "https://"))


def _routes(proxy: TorznabProxy) -> list[tuple[str, Callable[[Request], Any]]]:
    jackett = JACKETT_PREFIX + "{indexer}/results/torznab"
    # Jackett answers with and without a trailing slash; clients' base URLs carry either.
    apis = [path + end for path in ("/api", jackett, jackett + "/api") for end in ("", "/")]
    return [*((path, proxy.api) for path in apis), ("/dl/{name}", proxy.download)]


def make_proxy_app(config: ProxyConfig, screener: ScreenerSource,
                   on_block: Callable[[BlockEvent], None] | None = None) -> Starlette:
    """A standalone ASGI app: `/api` and Jackett's `/api/v2.0/indexers/{id}/results/torznab[/api]`
    (the Torznab/Newznab endpoints) and `/dl/<id>.torrent` (screened downloads)."""
    proxy = TorznabProxy(config, screener, on_block)
    routes = [Route(path, endpoint) for path, endpoint in _routes(proxy)]
    app = Starlette(routes=[*routes, Route("/{path:path}", _no_such_path)])
    app.state.proxy = proxy
    return app


async def _no_such_path(request: Request) -> Response:
    # Clients parse whatever comes back as XML: an unknown path gets an error document too.
    return Response(tf.error_document(202, "No such function (unknown path)"), status_code=404, media_type=XML_TYPE)


def make_proxy_router(config: ProxyConfig, screener: ScreenerSource,
                      on_block: Callable[[BlockEvent], None] | None = None) -> APIRouter:
    """The same endpoints as a FastAPI router, for the service to mount, e.g.
    `app.include_router(make_proxy_router(cfg, live_screener), prefix="/torznab")`."""
    proxy = TorznabProxy(config, screener, on_block)
    router = APIRouter()
    for path, endpoint in _routes(proxy):
        router.add_api_route(path, endpoint, methods=["GET", "HEAD"], include_in_schema=False)
    return router
