"""URL matcher: canonicalize a URL, probe hashed dicts of its lookup keys, return Hits.

Per URL there are at most 2 exact probes, MAX_DEPTH + 1 path-prefix probes and MAX_DEPTH host
probes per list, whatever the list size: no scan over entries.
- exact: the canonical key (host/path?query) and, when there is a query, host/path: an entry
  written without a query matches the page with any query, as in Safe Browsing;
- prefix: `host/`, `host/a`, `host/a/b`...: path-segment aware, so /a/b matches /a/b/c but not /a/bc;
  a prefix entry covers its own host only;
- host: the host and each parent domain (label-wise), so `example.test` matches
  `www.example.test` but never `evil-example.test`; an IP address matches only itself.
The scheme, port, user info and fragment never take part.

Allowlists: an allow entry that matches the URL cancels a hit whose entry is no more specific
than it (host < prefix < exact; deeper beats shallower), so a carve-out under a blocked host
works, while a broad allow cannot undo a narrower block.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from indexguard.formats.url import CanonicalUrl, UrlError, canonicalize
from indexguard.lists.url_list import MAX_DEPTH, MatchKind, UrlEntry, UrlList, prefix_key
from indexguard.match.hit import Hit

_RANK: dict[MatchKind, int] = {"host": 0, "prefix": 1, "exact": 2}
MAX_TEXT_CHARS = 1 << 20
MAX_URLS_PER_TEXT = 1000

_Slot = UrlEntry | tuple[UrlEntry, ...]


@dataclass(frozen=True, slots=True)
class FoundUrl:
    """A URL found in free text: `span` indexes the original text, `url` is the deobfuscated form."""

    span: tuple[int, int]
    url: str
    obfuscated: bool = False


@dataclass(slots=True)
class TextScan:
    hits: list[Hit] = field(default_factory=list)
    urls: list[FoundUrl] = field(default_factory=list)
    unparsed: list[tuple[int, int]] = field(default_factory=list)  # URL-like spans we could not read


class _Index:
    """One list's entries in three dicts keyed by lookup key."""

    __slots__ = ("exact", "host", "list", "prefix")

    def __init__(self, url_list: UrlList) -> None:
        self.list = url_list
        self.exact: dict[str, _Slot] = {}
        self.prefix: dict[str, _Slot] = {}
        self.host: dict[str, _Slot] = {}
        tables = {"exact": self.exact, "prefix": self.prefix, "host": self.host}
        for e in url_list.entries:
            table = tables[e.match]
            old = table.get(e.key)
            table[e.key] = e if old is None else (*(old if isinstance(old, tuple) else (old,)), e)

    def lookup(self, probes: _Probes) -> list[UrlEntry]:
        out: list[UrlEntry] = []
        for table, keys in ((self.exact, probes.exact), (self.prefix, probes.prefix), (self.host, probes.host)):
            if not table:
                continue
            for k in keys:
                slot = table.get(k)
                if slot is not None:
                    out.extend(slot if isinstance(slot, tuple) else (slot,))
        return out


@dataclass(frozen=True, slots=True)
class _Probes:
    exact: list[str]
    prefix: list[str]
    host: list[str]


def probes_for(c: CanonicalUrl) -> _Probes:
    """Every lookup key of a canonical URL (see the module docstring)."""
    exact = [c.key] + ([c.host + c.path] if c.query else [])
    segments = [s for s in c.path.split("/") if s][:MAX_DEPTH]
    prefix = [prefix_key(c.host, segments[:i]) for i in range(len(segments) + 1)]
    if c.is_ip:
        hosts = [c.host]
    else:
        labels = c.host.split(".")
        hosts = [".".join(labels[i:]) for i in range(max(0, len(labels) - MAX_DEPTH), len(labels))]
    return _Probes(exact, prefix, hosts)


class UrlMatcher:
    """Matches URLs against URL lists. Immutable after construction, so safe to share."""

    def __init__(self, lists: Iterable[UrlList]) -> None:
        lists = list(lists)
        self._block = [_Index(x) for x in lists if not x.allowlist]
        self._allow = [_Index(x) for x in lists if x.allowlist]

    def match(self, url: str | bytes | CanonicalUrl, span: tuple[int, int] | None = None) -> list[Hit]:
        """Hits for one URL; raises UrlError when it cannot be read (callers hold it for review)."""
        c = url if isinstance(url, CanonicalUrl) else canonicalize(url)
        probes = probes_for(c)
        allowed = [e for ix in self._allow for e in ix.lookup(probes)]
        hits: list[Hit] = []
        for ix in self._block:
            for e in ix.lookup(probes):
                if not any(_covers(a, e) for a in allowed):
                    hits.append(_hit(ix.list, e, span))
        return hits

    def match_url(self, url: str) -> list[Hit]:
        """For the screener: like match(), but an unreadable URL gives one `review` hit saying why
        instead of raising, so the item is held (fail closed) and its other reasons are kept."""
        try:
            return self.match(url)
        except UrlError as e:
            return [unreadable_url_hit(e)]

    def match_text(self, text: str) -> list[Hit]:
        """Hits for every URL found in free text, each with the span of its URL."""
        return self.scan_text(text).hits

    def scan_text(self, text: str) -> TextScan:
        out = TextScan()
        for found in extract_urls(text):
            out.urls.append(found)
            try:
                out.hits.extend(self.match(found.url, found.span))
            except UrlError:
                out.unparsed.append(found.span)
        return out


def unreadable_url_hit(e: UrlError, span: tuple[int, int] | None = None) -> Hit:
    return Hit("indexguard", "", "unreadable-url", "error", "review", "url", span,
               {"detail": f"URL cannot be read: {e.reason}"})


def _covers(allow: UrlEntry, block: UrlEntry) -> bool:
    return (_RANK[allow.match], allow.depth) >= (_RANK[block.match], block.depth)


def _hit(url_list: UrlList, e: UrlEntry, span: tuple[int, int] | None) -> Hit:
    return Hit(
        list=url_list.name,
        list_version=url_list.version,
        entry=e.id,
        category=e.category,
        severity=e.severity,
        view=f"url:{e.match}",
        span=span,
    )


# --- URLs in free text ------------------------------------------------------------------------

# Written-out dots and defanged schemes, as used to slip links past filters.
_OBFUSCATION = re.compile(
    r"(?i)(?P<dot>\s?[\[\(\{]\s*(?:\.|dot)\s*[\]\)\}]\s?|\s(?:dot|DOT)\s(?=[a-z0-9]))"
    r"|(?P<scheme>\bh(?:xx|\*\*|tt)p(?P<s>s?)\[?:\]?//)"
)
_STOP = "\\s<>\"'`{}|\\^"
_SCHEMED = re.compile(rf"(?i)\b(?:https?|ftp)://[^{_STOP}]+")
_WWW = re.compile(rf"(?i)(?<![\w./@-])www\d{{0,3}}\.[^{_STOP}]+")
_BARE = re.compile(rf"(?i)(?<![\w./@:-])[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)+(?:[/?][^{_STOP}]*)?")
_TRAILING = ".,;:!?*'\""
_PAIRS = {")": "(", "]": "[", "}": "{"}


def extract_urls(text: str) -> list[FoundUrl]:
    """URLs in free text: http(s)/ftp URLs, `www.` hosts, and defanged forms (`hxxp://`,
    `example[.]test`, `example(dot)test`), the latter also without a scheme. magnet: links are
    left to the magnet parser. At most MAX_URLS_PER_TEXT, from the first MAX_TEXT_CHARS."""
    clear, origin, defanged = _deobfuscate(text[:MAX_TEXT_CHARS])
    found: list[FoundUrl] = []
    taken: list[tuple[int, int]] = []
    for rx, need_defang in ((_SCHEMED, False), (_WWW, False), (_BARE, True)):
        for m in rx.finditer(clear):
            start, end = m.start(), _trim_end(clear, m.start(), m.end())
            if end <= start or any(s < end and start < e for s, e in taken):
                continue
            obf = any(defanged[start:end])
            if need_defang and not obf:
                continue
            taken.append((start, end))
            found.append(FoundUrl((origin[start], origin[end]), clear[start:end], obf))
            if len(found) >= MAX_URLS_PER_TEXT:
                return sorted(found, key=lambda f: f.span)
    return sorted(found, key=lambda f: f.span)


def _deobfuscate(text: str) -> tuple[str, list[int], list[bool]]:
    """The text with defanging undone; origin[i] is where clear[i] came from (origin has one
    extra slot for the end); defanged[i] marks characters that replaced an obfuscation."""
    parts: list[str] = []
    origin: list[int] = []
    defanged: list[bool] = []
    pos = 0
    for m in _OBFUSCATION.finditer(text):
        repl = "." if m.group("dot") else ("https://" if m.group("s") else "http://")
        if m.group(0).lower() == repl:  # a plain scheme, nothing to undo
            continue
        parts.append(text[pos : m.start()])
        origin.extend(range(pos, m.start()))
        defanged.extend([False] * (m.start() - pos))
        parts.append(repl)
        origin.extend([m.start()] * len(repl))
        defanged.extend([True] * len(repl))
        pos = m.end()
    parts.append(text[pos:])
    origin.extend(range(pos, len(text) + 1))
    defanged.extend([False] * (len(text) - pos))
    return "".join(parts), origin, defanged


def _trim_end(text: str, start: int, end: int) -> int:
    """Drop sentence punctuation and unbalanced closing brackets from the end of a match."""
    while end > start:
        ch = text[end - 1]
        unbalanced = ch in _PAIRS and text.count(_PAIRS[ch], start, end) < text.count(ch, start, end)
        if ch in _TRAILING or unbalanced:
            end -= 1
        else:
            break
    return end


def match_urls(matcher: UrlMatcher, urls: Sequence[str]) -> tuple[list[Hit], list[int]]:
    """Hits for several URLs (e.g. an item's `urls`), and the indexes of the ones that could not
    be read; each hit carries `extra["url_index"]`."""
    hits: list[Hit] = []
    bad: list[int] = []
    for i, u in enumerate(urls):
        try:
            for h in matcher.match(u):
                hits.append(Hit(h.list, h.list_version, h.entry, h.category, h.severity, h.view,
                                h.span, {"url_index": i}))
        except UrlError:
            bad.append(i)
    return hits, bad
