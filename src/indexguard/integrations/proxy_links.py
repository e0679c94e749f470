"""Short download links for the Torznab proxy, and the file names downloads are saved under.

A link is `/dl/<id>.torrent` where the id is 128 random bits (unguessable, so unforgeable) naming an
entry of an in-memory table: the upstream URL, the indexer it came from and the item title. Entries
expire after the link lifetime, the table is bounded (oldest first out), and the same upstream URL
seen again reuses its entry while it has at least half its lifetime left, so repeated searches cost a
dictionary lookup instead of a new link. Links die when the proxy restarts; clients search again.
"""

from __future__ import annotations

import base64
import re
import secrets
import time
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import quote

from anyascii import anyascii

ID_BYTES = 16
ID_RE = re.compile(r"[A-Za-z0-9_-]{22}")
MAX_NAME_CHARS = 120
_UNSAFE = re.compile(r'[\x00-\x1f\x7f"*/:<>?\\|]+')
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Link:
    url: str
    indexer: str
    kind: str  # "torrent" | "nzb"
    title: str
    expires: float


class LinkTable:
    def __init__(self, ttl: float, max_links: int) -> None:
        self.ttl = ttl
        self.max_links = max_links
        # Plain tuples of strings and a float: the garbage collector stops tracking those, which matters
        # with a hundred thousand entries (a dataclass per link cost ~20 % of a cold search in collections).
        self._by_id: OrderedDict[str, tuple[str, str, str, str, float]] = OrderedDict()
        self._by_url: dict[tuple[str, str], str] = {}
        self._random = memoryview(b"")

    def __len__(self) -> int:
        return len(self._by_id)

    def add(self, url: str, indexer: str, kind: str, title: str, now: float | None = None) -> str:
        now = time.monotonic() if now is None else now
        known = self._by_url.get((indexer, url))
        if known is not None:
            entry = self._by_id.get(known)
            if entry is not None and entry[4] - now > self.ttl / 2:
                return known
        link_id = self._new_id()
        self._by_id[link_id] = (url, indexer, kind, title, now + self.ttl)
        self._by_url[(indexer, url)] = link_id
        self._evict(now)
        return link_id

    def _new_id(self) -> str:
        # 128 bits from the system's CSPRNG, drawn 4 KiB at a time: one system call per 256 links
        # instead of one per link (a cold search makes a hundred).
        if len(self._random) < ID_BYTES:
            self._random = memoryview(secrets.token_bytes(ID_BYTES * 256))
        raw, self._random = self._random[:ID_BYTES], self._random[ID_BYTES:]
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    def get(self, link_id: str, now: float | None = None) -> Link | None:
        now = time.monotonic() if now is None else now
        entry = self._by_id.get(link_id) if ID_RE.fullmatch(link_id) else None
        if entry is None or entry[4] <= now:
            return None
        return Link(*entry)

    def _evict(self, now: float) -> None:
        while self._by_id:
            oldest_id, (url, indexer, _, _, expires) = next(iter(self._by_id.items()))
            if len(self._by_id) <= self.max_links and expires > now:
                return
            del self._by_id[oldest_id]
            if self._by_url.get((indexer, url)) == oldest_id:
                del self._by_url[(indexer, url)]


def safe_filename(title: str, extension: str) -> str:
    """A file name every client and file system takes: no path separators, control or reserved
    characters, no leading dots, at most MAX_NAME_CHARS characters before the extension."""
    name = unicodedata.normalize("NFC", title)
    name = _SPACES.sub(" ", _UNSAFE.sub("_", name)).strip(" ._")
    name = name[:MAX_NAME_CHARS].rstrip(" ._") or "download"
    return f"{name}.{extension}"


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII `filename` for old clients and the UTF-8 `filename*` (RFC 6266)."""
    ascii_name = _UNSAFE.sub("_", anyascii(filename)).replace("%", "_").strip() or "download"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
