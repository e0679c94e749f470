"""A small pooled HTTP/1.1 client for the Torznab proxy's API calls to its indexers (searches, caps).

httpx's async client cost about 1.6–2 ms of CPU per request on the benchmark machine, more than
everything else the proxy does for a search it has met before; this client (asyncio streams and
the httptools parser uvicorn already uses) costs about 0.2 ms. It does only what those calls need:
GET, no redirects, no cookies, no proxies from the environment, keep-alive connections pooled per
origin and per event loop, TLS with httpx's default context (certifi's roots), one deadline per
request, and a bound on the answer's size that is enforced while reading, not after. Downloads keep
going through httpx (proxy_fetch), whose redirect handling the SSRF checks build on.

It logs nothing: an upstream URL carries the indexer's key and the client's search text.
"""

from __future__ import annotations

import asyncio
import re
import ssl
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

try:  # uvicorn[standard] brings it on CPython; without it the proxy uses httpx for everything
    import httptools

    AVAILABLE = True
except ImportError:  # pragma: no cover - exercised only where httptools is missing
    AVAILABLE = False
MAX_IDLE = 8  # idle connections kept per origin
_PLAIN = re.compile(r"[!-~]+")  # printable ASCII, no spaces: goes into the request line and Host as it is
_READ = 256 * 1024


class UpstreamFailed(Exception):
    """The upstream could not be reached or answered something unreadable. Names no URL."""


class UpstreamTooLarge(UpstreamFailed):
    """The answer (or what it decompresses to) is larger than the bound."""


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes


@dataclass(frozen=True, slots=True)
class Target:
    """A base URL this client can call: plain http(s), no user info, no query of its own."""

    scheme: str
    host: str
    port: int
    path: str
    host_header: str

    @staticmethod
    def of(url: str) -> Target | None:
        try:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return None
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment \
                or parts.username is not None or parts.password is not None \
                or not _PLAIN.fullmatch(parts.hostname + parts.path):
            return None  # httpx, which validates and quotes, takes the others
        host = parts.hostname
        shown = f"[{host}]" if ":" in host else host
        default = 443 if parts.scheme == "https" else 80
        return Target(parts.scheme, host, port, parts.path or "/",
                      shown if port == default else f"{shown}:{port}")


@dataclass(slots=True)
class _Reading:
    """httptools callbacks for one response."""

    limit: int
    status: int = 0
    headers: dict[bytes, bytes] = field(default_factory=dict)
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0
    complete: bool = False
    too_large: bool = False
    keep_alive: bool = False
    parser: object = None

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.lower()] = value

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()  # type: ignore[attr-defined]
        # Asked here: once the message is complete, httptools answers False whatever the headers said.
        self.keep_alive = bool(self.parser.should_keep_alive())  # type: ignore[attr-defined]

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size > self.limit:
            self.too_large = True
            raise UpstreamTooLarge("too large")
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        self.complete = True


class _Conn:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def close(self) -> None:
        self.writer.close()


class UpstreamClient:
    """One per event loop (the proxy keeps one per loop, as it does its httpx client)."""

    def __init__(self, timeout: float, max_bytes: int, user_agent: str = "indexguard-proxy") -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.user_agent = user_agent
        self._idle: dict[tuple[str, str, int], list[_Conn]] = {}
        self._ssl: ssl.SSLContext | None = None

    async def get(self, target: Target, params: Mapping[str, str]) -> Reply:
        query = urlencode(params)
        head = (f"GET {target.path}{'?' + query if query else ''} HTTP/1.1\r\nHost: {target.host_header}\r\n"
                f"User-Agent: {self.user_agent}\r\nAccept: */*\r\nAccept-Encoding: gzip, deflate\r\n\r\n").encode()
        try:
            async with asyncio.timeout(self.timeout):
                return await self._exchange(target, head)
        except UpstreamFailed:
            raise
        except (OSError, TimeoutError, EOFError, ssl.SSLError, ValueError) as e:
            raise UpstreamFailed(type(e).__name__) from None
        except Exception as e:  # httptools' parser errors
            raise UpstreamFailed(type(e).__name__) from None

    async def aclose(self) -> None:
        for conns in self._idle.values():
            for c in conns:
                c.close()
        self._idle.clear()

    async def _exchange(self, target: Target, head: bytes) -> Reply:
        key = (target.scheme, target.host, target.port)
        idle = self._idle.setdefault(key, [])
        while idle:  # a kept-alive connection the server may have closed meanwhile: one retry on a new one
            conn = idle.pop()
            try:
                return await self._on(conn, key, head)
            except _Stale:
                conn.close()
        return await self._on(await self._connect(target), key, head, fresh=True)

    async def _connect(self, target: Target) -> _Conn:
        if target.scheme == "https":
            if self._ssl is None:
                import httpx  # its default context: certifi's roots, as the rest of the proxy uses

                self._ssl = httpx.create_ssl_context()
            reader, writer = await asyncio.open_connection(target.host, target.port, ssl=self._ssl,
                                                           server_hostname=target.host, limit=_READ)
        else:
            reader, writer = await asyncio.open_connection(target.host, target.port, limit=_READ)
        return _Conn(reader, writer)

    async def _on(self, conn: _Conn, key: tuple[str, str, int], head: bytes, fresh: bool = False) -> Reply:
        reading = _Reading(self.max_bytes)
        parser = httptools.HttpResponseParser(reading)
        reading.parser = parser
        got_any = False
        try:
            conn.writer.write(head)
            await conn.writer.drain()
            while not reading.complete:
                data = await conn.reader.read(_READ)
                if not data:
                    if not got_any and not fresh:
                        raise _Stale
                    if reading.status and not _framed(reading.headers):
                        break  # an answer delimited by the connection's end
                    raise UpstreamFailed("connection closed early")
                got_any = True
                try:
                    parser.feed_data(data)
                except httptools.HttpParserUpgrade:
                    raise UpstreamFailed("unexpected upgrade") from None
                except Exception:
                    if reading.too_large:
                        raise UpstreamTooLarge("too large") from None
                    raise UpstreamFailed("unreadable answer") from None
        except _Stale:
            raise
        except (ConnectionResetError, BrokenPipeError) as e:
            conn.close()
            if not got_any and not fresh:
                raise _Stale from None
            raise UpstreamFailed(type(e).__name__) from None
        except BaseException:
            conn.close()
            raise
        keep = reading.complete and reading.keep_alive
        body = b"".join(reading.chunks)
        encoding = reading.headers.get(b"content-encoding", b"identity").strip().lower()
        if keep:
            idle = self._idle.setdefault(key, [])
            if len(idle) < MAX_IDLE:
                idle.append(conn)
            else:
                conn.close()
        else:
            conn.close()
        return Reply(reading.status, _decoded(body, encoding, self.max_bytes))


class _Stale(Exception):
    """A pooled connection closed by the server before answering: try a new one."""


def _framed(headers: dict[bytes, bytes]) -> bool:
    return b"content-length" in headers or b"chunked" in headers.get(b"transfer-encoding", b"").lower()


def _decoded(body: bytes, encoding: bytes, limit: int) -> bytes:
    if encoding in (b"identity", b""):
        return body
    if encoding in (b"gzip", b"x-gzip", b"deflate"):
        wbits = 31 if encoding != b"deflate" else (15 if body[:1] == b"\x78" else -15)
        d = zlib.decompressobj(wbits)
        try:
            out = d.decompress(body, limit + 1)
        except zlib.error:
            raise UpstreamFailed("undecodable body") from None
        if len(out) > limit:
            raise UpstreamTooLarge("too large")
        return out
    raise UpstreamFailed("unsupported content encoding")
