"""Where the Torznab proxy may fetch a download from, checked on every hop.

A download URL (and every redirect it leads to) must be http(s) and either on the indexer's own
origin (scheme, host and port of its configured API URL, which may well be on loopback) or on a host
the configuration names for that indexer. A named host is resolved here and every address it
resolves to must be a public one (not loopback, private, link-local, multicast, reserved or
unspecified); the request then goes to the address that was checked, with the Host header and TLS
server name of the original host, so a second DNS answer cannot swap in an internal address. Every
refusal raises the same `DownloadRefused`, whose reason is only for debug logs: the client gets one
answer whatever the destination did, so the proxy cannot be used to probe ports or hosts.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

from indexguard.integrations.proxy_indexers import Indexer, Origin

Resolver = Callable[[str, int], Awaitable[list[str]]]
REDIRECTS = frozenset((301, 302, 303, 307, 308))


class DownloadRefused(Exception):
    """Any reason a download is not handed over. The message is for debug logs and names no URL."""


@dataclass(frozen=True, slots=True)
class Fetched:
    body: bytes = b""
    magnet: str | None = None  # the chain ended in a redirect to this magnet URI


async def system_resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def is_public(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


class GuardedFetcher:
    def __init__(self, client: Callable[[], httpx.AsyncClient], *, max_bytes: int, max_redirects: int,
                 resolve: Resolver = system_resolve) -> None:
        self._client = client
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self._resolve = resolve

    async def get(self, url: str, indexer: Indexer) -> Fetched:
        for _ in range(self.max_redirects + 1):
            if url.lower().startswith("magnet:"):
                return Fetched(magnet=url)
            target, headers, extensions = await self._route(url, indexer)
            try:
                async with self._client().stream("GET", target, headers=headers, extensions=extensions) as resp:
                    if resp.status_code in REDIRECTS and "location" in resp.headers:
                        url = _join(url, resp.headers["location"])
                        continue
                    if resp.status_code != 200:
                        raise DownloadRefused(f"HTTP {resp.status_code}")
                    return Fetched(body=await self._read(resp))
            except (httpx.HTTPError, httpx.InvalidURL) as e:
                raise DownloadRefused(f"transport error ({type(e).__name__})") from None
        raise DownloadRefused("too many redirects")

    async def _route(self, url: str, indexer: Indexer) -> tuple[str, dict[str, str], dict[str, object]]:
        """Where to send the request for `url`, or DownloadRefused."""
        try:
            parts = urlsplit(url)
            origin = Origin.of(url)
        except ValueError:
            raise DownloadRefused("unreadable URL") from None
        if origin.scheme not in ("http", "https") or not origin.host:
            raise DownloadRefused("not an http(s) URL")
        if origin == indexer.origin:
            return url, {}, {}
        if parts.username or parts.password or not _named(origin, indexer.download_hosts):
            raise DownloadRefused("host not allowed for this indexer")
        try:
            addresses = await self._resolve(origin.host, origin.port)
        except (OSError, UnicodeError):
            raise DownloadRefused("host does not resolve") from None
        if not addresses or not all(is_public(a) for a in addresses):
            raise DownloadRefused("host resolves to a non-public address")
        pinned = addresses[0]
        netloc = f"[{pinned}]:{origin.port}" if ":" in pinned else f"{pinned}:{origin.port}"
        host_header = origin.host if parts.port is None else f"{origin.host}:{origin.port}"
        extensions: dict[str, object] = {"sni_hostname": origin.host} if origin.scheme == "https" else {}
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, "")), {"host": host_header}, extensions

    async def _read(self, resp: httpx.Response) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.aiter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise DownloadRefused("too large to screen")
            chunks.append(chunk)
        return b"".join(chunks)


def _named(origin: Origin, hosts: frozenset[str]) -> bool:
    default = 443 if origin.scheme == "https" else 80
    return f"{origin.host}:{origin.port}" in hosts or (origin.port == default and origin.host in hosts)


def _join(base: str, location: str) -> str:
    if location.lower().startswith("magnet:"):
        return location
    try:
        return str(httpx.URL(base).join(location))
    except Exception:  # httpx raises InvalidURL and a few others for a malformed Location
        raise DownloadRefused("unreadable redirect") from None
