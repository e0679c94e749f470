"""A Torznab/Newznab filtering proxy: put it between clients (Prowlarr, Jackett users, the *arr apps,
qBittorrent, FlexGet) and any compliant indexer.

- `t=caps` passes through.
- Search functions (search, tvsearch, movie, music, book) have their free-text parameters screened
  first; a blocked query gets an empty, valid feed and is reported to `on_block` without its text.
- Every result item is screened (title, description, text attributes, infohash against the deny
  set and hash lists, magnet). Items whose action is in `drop_actions` vanish; the proxy keeps
  paging upstream so a page is full, and `offset`/`total` count the filtered sequence.
- Download links are replaced by encrypted, expiring proxy links (the upstream URL and API key
  never reach the client); a fetched .torrent/.nzb is screened before it is handed over.
- Clients authenticate with the proxy's own keys; the upstream key is scrubbed from everything relayed.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import logging
import secrets
import time
import uuid
import xml.etree.ElementTree as ET
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus, urlencode, urlsplit

import httpx
from cryptography.fernet import Fernet, InvalidToken
from fastapi import APIRouter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from indexguard.errors import IndexguardError
from indexguard.integrations import torznab_feed as tf
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
DEFAULT_LIMIT = 100
RSS_TYPE = "application/rss+xml; charset=utf-8"
XML_TYPE = "application/xml; charset=utf-8"
MEDIA = {"torrent": "application/x-bittorrent", "nzb": "application/x-nzb"}

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
    upstream: str  # the upstream API endpoint, e.g. http://127.0.0.1:9117/api/v2.0/indexers/x/results/torznab/api
    upstream_apikey: str | None = None
    apikeys: frozenset[str] = frozenset()  # what clients must present; empty: no key needed
    link_secret: bytes = b""  # key material for download links; random per process when empty
    public_url: str | None = None  # how clients reach this proxy's API endpoint, when behind a reverse proxy
    flavor: str = "torznab"  # namespace of the empty feed a blocked query gets: torznab | newznab
    drop_actions: frozenset[str] = frozenset(("block", "review"))
    timeout: float = 20.0
    max_download_bytes: int = 10 * 1024 * 1024
    link_ttl: int = 6 * 3600
    page_cache_ttl: float = 300.0
    page_cache_size: int = 128
    max_upstream_fetches: int = 8
    max_redirects: int = 5
    transport: httpx.AsyncBaseTransport | None = None


class ProxyError(Exception):
    """Answered to the client as a Newznab error document."""

    def __init__(self, code: int, description: str | None = None) -> None:
        self.code = code
        self.description = description if description is not None else tf.ERROR_CODES.get(code, "Unknown error")
        super().__init__(f"{code}: {self.description}")


@dataclass
class _Scan:
    """The filtered result sequence of one search, as far as it has been read upstream."""

    kept: list[ET.Element] = field(default_factory=list)
    scanned: int = 0
    dropped: int = 0
    upstream_total: int | None = None
    exhausted: bool = False
    template: tf.Feed | None = None
    created: float = field(default_factory=time.monotonic)

    def total(self) -> int:
        if self.exhausted or self.upstream_total is None:
            return len(self.kept)
        return max(self.upstream_total - self.dropped, len(self.kept))


class TorznabProxy:
    def __init__(self, config: ProxyConfig, screener: ScreenerSource,
                 on_block: Callable[[BlockEvent], None] | None = None) -> None:
        self.config = config
        self._screener = screener
        self.on_block = on_block or _log_block
        secret = config.link_secret or secrets.token_bytes(32)
        self._fernet = Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"indexguard-proxy-links\0" + secret).digest()))
        self._scans: OrderedDict[str, _Scan] = OrderedDict()

    # --- endpoints -------------------------------------------------------------------------

    async def api(self, request: Request) -> Response:
        params = _params(request)
        try:
            self._authenticate(params)
            function = params.get("t", "").strip().lower()
            if not function:
                raise ProxyError(200, "Missing parameter (t)")
            if function == "caps":
                return await self._caps(params)
            if function in SEARCH_FUNCTIONS:
                return await self._search(function, params, self._download_base(request))
            if function in UNRELAYED_FUNCTIONS:
                raise ProxyError(203)
            raise ProxyError(202)
        except ProxyError as e:
            return self._error(e)

    async def download(self, request: Request) -> Response:
        try:
            link = self._open_link(request.query_params.get("token", ""))
            return await self._fetch_download(link)
        except ProxyError as e:
            return self._error(e)

    # --- api functions ---------------------------------------------------------------------

    def _authenticate(self, params: dict[str, str]) -> None:
        if not self.config.apikeys:
            return
        given = params.get("apikey", "")
        if not any(hmac.compare_digest(given.encode(), k.encode()) for k in self.config.apikeys):
            raise ProxyError(100)

    async def _caps(self, params: dict[str, str]) -> Response:
        body = await self._get_upstream({"t": "caps"} | _passthrough(params, ("t",)))
        root = self._parse(body)
        err = tf.upstream_error(root)
        if err is not None:
            raise ProxyError(err.code, err.description)
        return Response(self._scrub(tf.serialize(root)), media_type=XML_TYPE)

    async def _search(self, function: str, params: dict[str, str], dl_base: str) -> Response:
        offset = _non_negative(params, "offset", 0)
        limit = _non_negative(params, "limit", DEFAULT_LIMIT) or DEFAULT_LIMIT
        blocked = self._check_query(function, params)
        if blocked:
            ns = tf.NEWZNAB_NS if self.config.flavor == "newznab" else tf.TORZNAB_NS
            return Response(tf.empty_feed(ns, offset=offset), media_type=RSS_TYPE)
        scan = self._scan_for(function, params)
        await self._fill(scan, function, params, offset + limit, limit, dl_base)
        assert scan.template is not None
        feed = copy.deepcopy(scan.template)
        # Kept items are final once their links are rewritten, and ElementTree elements have no parent
        # pointer, so a page can hold the cached elements themselves instead of deep copies.
        tf.replace_items(feed, scan.kept[offset:offset + limit])
        tf.set_response(feed, offset, scan.total())
        return Response(self._scrub(tf.serialize(feed.root)), media_type=RSS_TYPE)

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

    def _scan_for(self, function: str, params: dict[str, str]) -> _Scan:
        key = _scan_key(function, params)
        now = time.monotonic()
        for k in [k for k, s in self._scans.items() if now - s.created > self.config.page_cache_ttl]:
            del self._scans[k]
        scan = self._scans.get(key)
        if scan is None:
            scan = self._scans[key] = _Scan()
            while len(self._scans) > self.config.page_cache_size:
                self._scans.popitem(last=False)
        self._scans.move_to_end(key)
        return scan

    async def _fill(self, scan: _Scan, function: str, params: dict[str, str], need: int, chunk: int,
                    dl_base: str) -> None:
        fetches = 0
        while (len(scan.kept) < need and not scan.exhausted) or scan.template is None:
            if fetches >= self.config.max_upstream_fetches:
                return  # bounded work per request; the next page request continues the scan
            fetches += 1
            query = _passthrough(params, ("offset", "limit", "o")) | {"offset": str(scan.scanned), "limit": str(chunk)}
            root = self._parse(await self._get_upstream(query))
            err = tf.upstream_error(root)
            if err is not None:
                raise ProxyError(err.code, err.description)
            feed = self._feed(root)
            self._take(scan, feed, function, dl_base)
            _, total = feed.response()
            scan.upstream_total = total if total is not None else scan.upstream_total
            n = len(feed.items)
            if n == 0 or (total is not None and scan.scanned >= total) or (total is None and n < chunk):
                scan.exhausted = True

    def _take(self, scan: _Scan, feed: tf.Feed, function: str, dl_base: str) -> None:
        items = [it.to_item() for it in feed.items]
        decisions = self.screener().screen_many(items)
        for fi, d in zip(feed.items, decisions, strict=True):
            if d.action in self.config.drop_actions:
                scan.dropped += 1
                self._emit("item", function, d)
            else:
                self._rewrite_links(fi, feed.namespace, dl_base)
                scan.kept.append(fi.element)
        scan.scanned += len(feed.items)
        tf.replace_items(feed, [])
        # The template is deep-copied for every page: it must not drag the parsed items along.
        scan.template = tf.Feed(feed.root, feed.channel, feed.namespace, [])

    # --- links and downloads ---------------------------------------------------------------

    def _rewrite_links(self, fi: tf.FeedItem, namespace: str, dl_base: str) -> None:
        kind = _kind_hint(fi.enclosure_type, namespace)
        made: dict[str, str] = {}  # the enclosure and the link usually name the same file: one token
        enclosure = fi.element.find("enclosure")
        if enclosure is not None and _is_http(fi.enclosure_url):
            made[fi.enclosure_url] = self._link(fi.enclosure_url, kind, dl_base)
            enclosure.set("url", made[fi.enclosure_url])
        link = fi.element.find("link")
        if link is not None and _is_http(fi.link):
            link.text = made.get(fi.link) or self._link(fi.link, kind, dl_base)

    def _link(self, url: str, kind: str, dl_base: str) -> str:
        token = self._fernet.encrypt(json.dumps({"u": url, "k": kind}).encode()).decode()
        return f"{dl_base}?{urlencode({'token': token})}"

    def _open_link(self, token: str) -> dict[str, str]:
        try:
            raw = self._fernet.decrypt(token.encode(), ttl=self.config.link_ttl)
            link = json.loads(raw)
        except (InvalidToken, ValueError):
            raise ProxyError(201, "Incorrect parameter (the download link is invalid or has expired)") from None
        if not isinstance(link, dict) or not isinstance(link.get("u"), str):
            raise ProxyError(201, "Incorrect parameter (the download link is invalid)")
        return {"u": link["u"], "k": str(link.get("k", "torrent"))}

    async def _fetch_download(self, link: dict[str, str]) -> Response:
        url = link["u"]
        async with self._client() as client:
            for _ in range(self.config.max_redirects + 1):
                if url.lower().startswith("magnet:"):
                    return self._magnet(url)
                if not _is_http(url):
                    raise ProxyError(300, "No such item (unsupported download link)")
                try:
                    async with client.stream("GET", url) as resp:
                        if resp.is_redirect and "location" in resp.headers:
                            url = _redirect_target(resp)
                            continue
                        if resp.status_code != 200:
                            raise ProxyError(300, "No such item (the indexer refused the download)")
                        body = await self._read_limited(resp)
                        disposition = resp.headers.get("content-disposition")
                except httpx.HTTPError:
                    raise ProxyError(900, "Unknown error (the indexer is unreachable)") from None
                return self._screen_download(body, link["k"], disposition)
        raise ProxyError(300, "No such item (too many redirects)")

    async def _read_limited(self, resp: httpx.Response) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.aiter_bytes():
            size += len(chunk)
            if size > self.config.max_download_bytes:
                raise ProxyError(300, "No such item (the download is too large to screen)")
            chunks.append(chunk)
        return b"".join(chunks)

    def _screen_download(self, body: bytes, hint: str, disposition: str | None) -> Response:
        kind = _sniff(body, hint)
        d = self.screener().screen(Item(id=f"dl-{uuid.uuid4().hex}", kind=kind, raw=body))  # type: ignore[arg-type]
        if d.action in self.config.drop_actions:
            self._emit("download", "download", d)
            raise ProxyError(300)
        headers = {"content-disposition": disposition} if disposition else None
        return Response(body, media_type=MEDIA[kind], headers=headers)

    def _magnet(self, uri: str) -> Response:
        d = self.screener().screen(Item(id=f"dl-{uuid.uuid4().hex}", kind="listing", magnet=uri))
        if d.action in self.config.drop_actions:
            self._emit("download", "download", d)
            raise ProxyError(300)
        return RedirectResponse(uri, status_code=302)

    # --- plumbing --------------------------------------------------------------------------

    def screener(self) -> Screener:
        return self._screener if isinstance(self._screener, Screener) else self._screener()

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=self.config.timeout, follow_redirects=False, transport=self.config.transport)

    async def _get_upstream(self, params: dict[str, str]) -> bytes:
        query = dict(params)
        if self.config.upstream_apikey:
            query["apikey"] = self.config.upstream_apikey
        try:
            async with self._client() as client:
                resp = await client.get(self.config.upstream, params=query)
        except httpx.HTTPError:
            raise ProxyError(900, "Unknown error (the upstream indexer is unreachable)") from None
        if resp.status_code != 200:
            raise ProxyError(900, f"Unknown error (the upstream indexer answered HTTP {resp.status_code})")
        if len(resp.content) > tf.MAX_FEED_BYTES:
            raise ProxyError(900, "Unknown error (the upstream answer is too large)")
        return resp.content

    def _parse(self, body: bytes) -> ET.Element:
        try:
            return tf.parse_document(body)
        except IndexguardError as e:
            # Fail closed: nothing we cannot read reaches the client.
            log.warning("torznab proxy: unreadable upstream answer: %s", e)
            raise ProxyError(900, "Unknown error (the upstream answer could not be read)") from None

    def _feed(self, root: ET.Element) -> tf.Feed:
        try:
            return tf.feed_from_root(root)
        except IndexguardError as e:
            log.warning("torznab proxy: unexpected upstream document: %s", e)
            raise ProxyError(900, "Unknown error (the upstream answer is not a result feed)") from None

    def _download_base(self, request: Request) -> str:
        if self.config.public_url:
            return self.config.public_url.rstrip("/").rsplit("/", 1)[0] + "/dl"
        path = request.url.path.rsplit("/", 1)[0] + "/dl"
        return str(request.url.replace(path=path, query=""))

    def _scrub(self, body: bytes) -> bytes:
        key = self.config.upstream_apikey
        if not key:
            return body
        for form in {key, quote(key, safe=""), quote_plus(key)}:
            body = body.replace(form.encode(), b"REDACTED")
        return body

    def _error(self, e: ProxyError) -> Response:
        return Response(self._scrub(tf.error_document(e.code, e.description)), media_type=XML_TYPE)

    def _emit(self, kind: str, function: str, d: Decision) -> None:
        payload = d.to_json()
        payload.pop("deterrence", None)
        for r in payload.get("reasons", []):
            r.pop("detail", None)
        try:
            self.on_block(BlockEvent(kind, function, payload))
        except Exception:  # a failing recorder must not turn a refusal into an error page
            log.exception("torznab proxy: on_block callback failed")


def _log_block(event: BlockEvent) -> None:
    entries = ", ".join(f"{r['list']}:{r['entry']}" for r in event.decision.get("reasons", []))
    log.info("torznab proxy: blocked %s (function=%s, decision=%s, entries=%s)", event.kind, event.function,
             event.decision.get("id"), entries)


def _params(request: Request) -> dict[str, str]:
    # The specification: parameter names are case-insensitive.
    return {k.lower(): v for k, v in request.query_params.multi_items()}


def _passthrough(params: dict[str, str], drop: Iterable[str]) -> dict[str, str]:
    skip = {"apikey", *drop}
    return {k: v for k, v in params.items() if k not in skip}


def _non_negative(params: dict[str, str], name: str, default: int) -> int:
    raw = params.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or len(raw) > 9:
        raise ProxyError(201, f"Incorrect parameter ({name})")
    return int(raw)


def _scan_key(function: str, params: dict[str, str]) -> str:
    rest = sorted(_passthrough(params, ("offset", "limit", "o", "t")).items())
    return hashlib.sha256(json.dumps([function, rest]).encode()).hexdigest()


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


def _redirect_target(resp: httpx.Response) -> str:
    location = resp.headers["location"]
    return location if location.lower().startswith("magnet:") else str(resp.url.join(location))


def _is_http(url: str) -> bool:
    try:
        return urlsplit(url).scheme.lower() in ("http", "https")
    except ValueError:
        return False


def make_proxy_app(config: ProxyConfig, screener: ScreenerSource,
                   on_block: Callable[[BlockEvent], None] | None = None) -> Starlette:
    """A standalone ASGI app: `/api` (the Torznab/Newznab endpoint) and `/dl` (screened downloads)."""
    proxy = TorznabProxy(config, screener, on_block)
    app = Starlette(routes=[Route("/api", proxy.api), Route("/dl", proxy.download)])
    app.state.proxy = proxy
    return app


def make_proxy_router(config: ProxyConfig, screener: ScreenerSource,
                      on_block: Callable[[BlockEvent], None] | None = None) -> APIRouter:
    """The same endpoints as a FastAPI router, for the service to mount, e.g.
    `app.include_router(make_proxy_router(cfg, live_screener), prefix="/torznab")`."""
    proxy = TorznabProxy(config, screener, on_block)
    router = APIRouter()
    router.add_api_route("/api", proxy.api, methods=["GET"], include_in_schema=False)
    router.add_api_route("/dl", proxy.download, methods=["GET"], include_in_schema=False)
    return router
