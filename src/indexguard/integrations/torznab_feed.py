"""Torznab and Newznab RSS: parse an indexer's answer, screen its items, write a feed back.

The feed is parsed with lxml (libxml2) into a tree that the proxy edits in place: dropped items are
removed, links rewritten, and everything else (channel metadata, the caps document, unknown
extensions, the upstream's namespace prefixes) is written back as it came. The parser resolves no
entities, loads no DTD and touches no network, keeps libxml2's size and depth limits (no huge_tree),
and any document carrying a DOCTYPE is refused outright, as defusedxml's forbid_dtd did before.
Errors follow the Newznab API's `<error code=".." description=".."/>` documents, which the Torznab
specification keeps.
"""

from __future__ import annotations

import copy
import hashlib
import re
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from xml.sax.saxutils import quoteattr

from lxml import etree

from indexguard.errors import LimitExceeded, ParseError
from indexguard.screen.item import Item

Element = etree._Element

TORZNAB_NS = "http://torznab.com/schemas/2015/feed"
NEWZNAB_NS = "http://www.newznab.com/DTD/2010/feeds/attributes/"
ATOM_NS = "http://www.w3.org/2005/Atom"
ATTR_NAMESPACES = (TORZNAB_NS, NEWZNAB_NS)
_ATTR_TAGS = frozenset(f"{{{ns}}}attr" for ns in ATTR_NAMESPACES)
_ITEM_TAGS = ("title", "description", "guid", "link", "enclosure", "pubDate", "jackettindexer", *sorted(_ATTR_TAGS))
MAX_FEED_BYTES = 20 * 1024 * 1024
MAX_ITEMS = 10_000
NSMAP = {"torznab": TORZNAB_NS, "newznab": NEWZNAB_NS, "atom": ATOM_NS}

# Error codes of the Newznab API (section "Newznab Error Codes"), kept by Torznab.
ERROR_CODES: dict[int, str] = {
    100: "Incorrect user credentials",
    101: "Account suspended",
    102: "Insufficient privileges/not authorized",
    200: "Missing parameter",
    201: "Incorrect parameter",
    202: "No such function",
    203: "Function not available",
    300: "No such item",
    900: "Unknown error",
    910: "API Disabled",
}

# Attributes whose values are numbers, dates or ids: nothing in them is free text worth screening.
NON_TEXT_ATTRS = frozenset((
    "size", "category", "files", "grabs", "seeders", "leechers", "peers", "seedtype", "minimumratio",
    "minimumseedtime", "downloadvolumefactor", "uploadvolumefactor", "password", "comments", "usenetdate",
    "nfo", "year", "season", "episode", "rageid", "tvairdate", "tvdbid", "tvmazeid", "imdb", "imdbscore",
    "imdbyear", "pages", "publishdate", "infohash", "magneturl", "guid", "coverurl", "backdropurl", "info",
    "tmdbid", "traktid", "doubanid",
))


class FeedError(ParseError):
    """An indexer answer that is not a Torznab/Newznab document we can screen."""

    def __init__(self, reason: str) -> None:
        super().__init__("torznab feed", reason)


@dataclass(frozen=True, slots=True)
class UpstreamError:
    code: int
    description: str


@dataclass(slots=True)
class FeedItem:
    """One `<item>` of a result feed, with the fields screening needs."""

    element: Element
    index: int
    title: str = ""
    description: str = ""
    guid: str = ""
    enclosure_url: str = ""
    enclosure_type: str = ""
    link: str = ""
    pub_date: str = ""
    attrs: list[tuple[str, str]] = field(default_factory=list)
    enclosure_el: Element | None = None
    link_el: Element | None = None
    has_indexer: bool = False  # carries Jackett's <jackettindexer> already

    def attr(self, name: str) -> str | None:
        for n, v in self.attrs:
            if n == name:
                return v
        return None

    def magnet(self) -> str | None:
        for candidate in (self.attr("magneturl"), self.enclosure_url, self.link):
            if candidate and candidate[:7].lower() == "magnet:":
                return candidate
        return None

    def to_item(self) -> Item:
        texts = [v for n, v in self.attrs if n not in NON_TEXT_ATTRS and v and not _numeric(v)]
        infohash = self.attr("infohash")
        # The guid is often an upstream URL (sometimes with the indexer's key in it): decisions and the
        # logs that name them get a digest of it instead.
        ident = hashlib.blake2b(self.guid.encode(), digest_size=8).hexdigest() if self.guid else str(self.index)
        return Item(
            id=f"item-{ident}",
            kind="listing",
            title=self.title or None,
            description=self.description or None,
            text="\n".join(texts) or None,
            magnet=self.magnet(),
            hashes={"infohash": [infohash.strip()]} if infohash and infohash.strip() else {},
        )



@dataclass
class Feed:
    root: Element
    channel: Element
    namespace: str  # the attribute namespace this feed uses (torznab or newznab)
    items: list[FeedItem]  # read from `elements`, unless feed_from_root was asked not to
    elements: list[Element] = field(default_factory=list)  # the <item> elements, in order

    def response(self) -> tuple[int | None, int | None]:
        """(offset, total) from `<newznab:response>`/`<torznab:response>`, when present."""
        el = _find_response(self.channel)
        if el is None:
            return None, None
        return _int_or_none(el.get("offset")), _int_or_none(el.get("total"))


def _parser() -> etree.XMLParser:
    # A parser per document: cheap (about a microsecond) and never shared between threads.
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
                           collect_ids=False)


def parse_document(data: bytes) -> Element:
    if len(data) > MAX_FEED_BYTES:
        raise LimitExceeded("torznab feed", f"document of {len(data)} bytes exceeds {MAX_FEED_BYTES}")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise FeedError("forbidden XML construct (DTD)")
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as e:
        if "encoding" in str(e).lower():
            # An XML declaration naming an encoding libxml2 does not know (e.g. "AUTF-8"), found by fuzzing.
            raise FeedError("unreadable XML declaration (unsupported encoding)") from None
        raise FeedError("not well-formed XML") from None
    except (LookupError, ValueError) as e:
        raise FeedError(f"unreadable XML declaration ({type(e).__name__})") from None
    if root is None:
        raise FeedError("no root element")
    info = root.getroottree().docinfo
    if getattr(info, "doctype", "") or info.internalDTD is not None or info.externalDTD is not None:
        # A DOCTYPE in another encoding than the byte check above can see.
        raise FeedError("forbidden XML construct (DTD)")
    return root


def upstream_error(root: Element) -> UpstreamError | None:
    if _local(root.tag) != "error":
        return None
    code = _int_or_none(root.get("code"))
    return UpstreamError(code if code is not None else 900, root.get("description") or "")


def parse_feed(data: bytes) -> Feed:
    """A result feed (`<rss><channel><item>…`). Raises FeedError for anything else."""
    root = parse_document(data)
    return feed_from_root(root)


def feed_from_root(root: Element, read_items: bool = True) -> Feed:
    if _local(root.tag) != "rss":
        raise FeedError(f"expected an <rss> document, found <{_local(root.tag)[:40]}>")
    channel = root.find("channel")
    if channel is None:
        raise FeedError("the feed has no <channel>")
    elements = channel.findall("item")
    if len(elements) > MAX_ITEMS:
        raise LimitExceeded("torznab feed", f"{len(elements)} items exceed {MAX_ITEMS}")
    items = [read_item(el, i) for i, el in enumerate(elements)] if read_items else []
    return Feed(root, channel, _namespace_of(channel, elements), items, elements)


def iter_attr_elements(item: Element) -> Iterator[Element]:
    for ns in ATTR_NAMESPACES:
        yield from item.findall(f"{{{ns}}}attr")


def read_item(el: Element, index: int) -> FeedItem:
    # One pass over the children that matter (lxml filters the tags in C) instead of a find() per
    # field: this runs for every result item and was the largest share of the proxy's time.
    fi = FeedItem(element=el, index=index)
    for child in el.iterchildren(*_ITEM_TAGS):
        tag = child.tag
        if tag in _ATTR_TAGS:
            fi.attrs.append(((child.get("name") or "").strip().lower(), child.get("value") or ""))
        elif tag == "title":
            if not fi.title:
                fi.title = (child.text or "").strip()
        elif tag == "link":
            if fi.link_el is None:
                fi.link_el = child
                fi.link = (child.text or "").strip()
        elif tag == "enclosure":
            if fi.enclosure_el is None:
                fi.enclosure_el = child
                fi.enclosure_url = child.get("url") or ""
                fi.enclosure_type = child.get("type") or ""
        elif tag == "description":
            if not fi.description:
                fi.description = (child.text or "").strip()
        elif tag == "guid":
            if not fi.guid:
                fi.guid = (child.text or "").strip()
        elif tag == "pubDate":
            if not fi.pub_date:
                fi.pub_date = (child.text or "").strip()
        else:  # jackettindexer
            fi.has_indexer = True
    return fi


def _namespace_of(channel: Element, elements: list[Element]) -> str:
    if channel.find(f"{{{NEWZNAB_NS}}}response") is not None:
        return NEWZNAB_NS
    if elements and elements[0].find(f"{{{NEWZNAB_NS}}}attr") is not None:
        return NEWZNAB_NS
    return TORZNAB_NS


def _find_response(channel: Element) -> Element | None:
    for ns in ATTR_NAMESPACES:
        el = channel.find(f"{{{ns}}}response")
        if el is not None:
            return el
    return None


def set_response(feed: Feed, offset: int, total: int) -> None:
    """Write offset and total, adding the response element when the upstream had none."""
    el = _find_response(feed.channel)
    if el is None:
        prefix = "newznab" if feed.namespace == NEWZNAB_NS else "torznab"
        el = feed.channel.makeelement(f"{{{feed.namespace}}}response", nsmap={prefix: feed.namespace})
        first_item = feed.channel.find("item")
        position = feed.channel.index(first_item) if first_item is not None else len(feed.channel)
        feed.channel.insert(position, el)
    el.set("offset", str(offset))
    el.set("total", str(total))


def replace_items(feed: Feed, kept: list[Element]) -> None:
    """Put exactly `kept` (in order) where the channel's items were. An lxml element has one parent:
    inserting a kept element here moves it out of any earlier page."""
    children = list(feed.channel)
    first = next((i for i, c in enumerate(children) if c.tag == "item"), len(children))
    for c in children:
        if c.tag == "item":
            feed.channel.remove(c)
    for offset, el in enumerate(kept):
        feed.channel.insert(first + offset, el)


def set_indexer(item: Element, indexer_id: str, name: str) -> None:
    """Add Jackett's `<jackettindexer id="..">Name</jackettindexer>`, which qBittorrent's plugin shows."""
    el = etree.SubElement(item, "jackettindexer", id=indexer_id)
    el.text = name


def published(pub_date: str) -> float:
    """An RSS pubDate as a POSIX timestamp (0 when absent or unreadable), for newest-first merging."""
    if not pub_date:
        return 0.0
    try:
        return parsedate_to_datetime(pub_date).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return 0.0


def merge_caps(roots: list[Element]) -> Element:
    """One caps document for several indexers, as Jackett's aggregate answers: the first one's
    server and limits, every category any of them has, and a search function available (with the
    union of its parameters) when any of them offers it."""
    merged = copy.deepcopy(roots[0])
    categories = merged.find("categories")
    searching = merged.find("searching")
    for other in roots[1:]:
        if categories is not None:
            have = {c.get("id") for c in categories.findall("category")}
            for cat in other.iterfind("categories/category"):
                if cat.get("id") not in have:
                    categories.append(copy.deepcopy(cat))
                    have.add(cat.get("id"))
        if searching is None:
            continue
        for function in other.iterfind("searching/*"):
            mine = searching.find(function.tag) if isinstance(function.tag, str) else None
            if mine is None:
                if isinstance(function.tag, str):
                    searching.append(copy.deepcopy(function))
                continue
            if function.get("available") == "yes":
                mine.set("available", "yes")
            params = [p for p in (mine.get("supportedParams") or "").split(",") if p]
            params += [p for p in (function.get("supportedParams") or "").split(",") if p and p not in params]
            mine.set("supportedParams", ",".join(params))
    return merged


def serialize(root: Element) -> bytes:
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True)


# --- answers written as bytes ------------------------------------------------------------------
# The proxy keeps what it made of each result item as serialized bytes and writes a page by joining
# them into the serialized channel of the upstream answer: no tree is copied, moved or written per
# search. lxml serializes a lone <item> with every namespace in scope declared on it; those
# declarations are cut off when the page's channel binds the same prefixes to the same URIs, so the
# page reads exactly as if the tree had been written whole.

Bindings = frozenset[tuple[str, str]]
_LEADING_DECLS = re.compile(rb'<item((?:\s+xmlns:[A-Za-z_][\w.\-]*="[^"&<]*")+)')
_DECL = re.compile(rb'xmlns:([^=\s]+)="([^"]*)"')


@dataclass(frozen=True, slots=True)
class KeptItem:
    """A kept result item as written to clients (links rewritten)."""

    data: bytes  # the item's bytes without its leading namespace declarations
    decls: bytes  # those declarations (b"" when none were cut)
    bindings: Bindings  # what the cut declarations bind
    pub_date: str

    def for_page(self, bound: Bindings) -> bytes:
        """The item's bytes inside a channel where `bound` is in scope."""
        if not self.decls or self.bindings <= bound:
            return self.data
        return b"<item" + self.decls + self.data[5:]


def kept_item(el: Element, pub_date: str, seen: dict[bytes, Bindings] | None = None) -> KeptItem:
    """`seen`: declarations already read (the items of one document all carry the same ones)."""
    data = etree.tostring(el)  # with its tail, as the tree would write it
    m = _LEADING_DECLS.match(data)
    if m is None:
        return KeptItem(data, b"", frozenset(), pub_date)
    decls = m.group(1)
    bindings = seen.get(decls) if seen is not None else None
    if bindings is None:
        bindings = frozenset((p.decode(), u.decode()) for p, u in _DECL.findall(decls))
        if seen is not None:
            seen[decls] = bindings
    return KeptItem(b"<item" + data[m.end():], decls, bindings, pub_date)


def kept_items(feed: Feed, chosen: list[tuple[int, str]]) -> list[KeptItem]:
    """The kept items `chosen` ((index in `feed.elements`, pubDate) pairs, links already rewritten),
    cut from one serialization of the channel instead of one per item (each costs far more than its
    share of the whole) when that is certain to give the same bytes: the items can be cut out
    (`item_bytes`), none declares a namespace of its own, every tail is plain whitespace, and the first
    one cut equals its own serialization (so all carry the same leading declarations: one parent).
    Otherwise each item is serialized alone."""
    if not chosen:
        return []
    first = kept_item(feed.elements[chosen[0][0]], chosen[0][1])
    cuts = item_bytes(etree.tostring(feed.channel), len(feed.elements))
    if cuts is not None:
        out = []
        for i, pub_date in chosen:
            cut = cuts[i]
            tail = feed.elements[i].tail or ""
            if b"xmlns" in cut[:cut.find(b">")] or tail.strip(" \t\n"):
                break
            out.append(KeptItem(cut + tail.encode(), first.decls, first.bindings, pub_date))
        else:
            if out[0].data == first.data:
                return out
    seen = {first.decls: first.bindings}
    return [first] + [kept_item(feed.elements[i], d, seen) for i, d in chosen[1:]]


def item_bytes(body: bytes, count: int) -> list[bytes] | None:
    """The source bytes of each of the `count` items a feed's channel holds, in order, or None when
    they cannot be cut out with certainty: markup that may hide tags (CDATA, comments, processing
    instructions), items elsewhere than in the channel, self-closing or namespaced items, or any other
    count of item tags than the parser found. Attribute values and text cannot hold a raw `<`, so
    outside those constructs every `<item` and `</item` is a tag. Identical bytes are the same item."""
    if b"<![CDATA[" in body or b"<!--" in body or body.find(b"<?", 1) >= 0:
        return None
    out: list[bytes] = []
    pos = 0
    others = 0  # <items>, <itemfoo>: other elements
    find = body.find
    while True:
        start = find(b"<item", pos)
        if start < 0:
            break
        after = body[start + 5:start + 6]
        if after == b"/":
            return None  # a self-closing item
        if after not in _ITEM_START_NEXT:
            others += 1
            pos = start + 5
            continue
        end = find(b"</item", start)
        close = find(b">", end) if end >= 0 else -1
        if close < 0 or body[end + 6:close].strip():
            return None  # no end tag, or one of another element (</items>)
        out.append(body[start:close + 1])
        pos = close + 1
        if len(out) > count:
            return None
    # Every `<item` was seen above unless one lay inside a cut (a nested item or <items>): then not certain.
    return out if len(out) == count and len(out) + others == body.count(b"<item") else None


_ITEM_START_NEXT = frozenset((b" ", b"\t", b"\r", b"\n", b">"))


@dataclass(frozen=True, slots=True)
class Template:
    """A result feed without its items, serialized once: `render` writes a page of kept items into it."""

    pieces: tuple[bytes, ...]  # literal bytes, with a slot between each two
    slots: tuple[int, ...]  # what each slot holds: _OFFSET, _TOTAL or _ITEMS
    bound: Bindings  # the prefixes bound where the items go
    namespace: str

    def render(self, items: Iterable[KeptItem], offset: int, total: int) -> bytes:
        body = b"".join(k.for_page(self.bound) for k in items)
        values = {_OFFSET: str(offset).encode(), _TOTAL: str(total).encode(), _ITEMS: body}
        out = [self.pieces[0]]
        for slot, piece in zip(self.slots, self.pieces[1:], strict=True):
            out.append(values[slot])
            out.append(piece)
        return b"".join(out)


_OFFSET, _TOTAL, _ITEMS = range(3)
# Where a template's slots are while it is written: random (an answer cannot hold them but by chance,
# and then it is refused, not misread), and one name per process: lxml keeps the element names it
# meets in a per-thread dictionary, so a name per answer would grow it for as long as the proxy runs.
_MARK = "ig" + secrets.token_hex(8)


def make_template(feed: Feed) -> Template:
    """The feed's document with its items taken out (this edits `feed`: use it last)."""
    mark = _MARK
    set_response(feed, 0, 0)  # first: a response element the upstream left out goes before the items
    replace_items(feed, [feed.channel.makeelement(mark)])
    response = _find_response(feed.channel)
    assert response is not None
    response.set("offset", mark + "o")
    response.set("total", mark + "t")
    data = serialize(feed.root)
    tokens = {f"<{mark}/>".encode(): _ITEMS, f"{mark}o".encode(): _OFFSET, f"{mark}t".encode(): _TOTAL}
    if any(data.count(t) != 1 for t in tokens):
        raise FeedError("the feed could not be written back")
    cuts = sorted((data.find(t), t) for t in tokens)
    pieces, at = [], 0
    for where, t in cuts:
        pieces.append(data[at:where])
        at = where + len(t)
    pieces.append(data[at:])
    bound = frozenset((p, u) for p, u in feed.channel.nsmap.items() if p is not None)
    return Template(tuple(pieces), tuple(tokens[t] for _, t in cuts), bound, feed.namespace)


def error_document(code: int, description: str | None = None) -> bytes:
    text = description if description is not None else ERROR_CODES.get(code, "Unknown error")
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<error code="{int(code)}" description={quoteattr(text)}/>\n'
            ).encode()


def empty_feed(namespace: str = TORZNAB_NS, title: str = "indexguard", offset: int = 0) -> bytes:
    """A valid result feed with no items (what a blocked search answers)."""
    prefix = "newznab" if namespace == NEWZNAB_NS else "torznab"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<rss version="2.0" xmlns:atom="{ATOM_NS}" xmlns:{prefix}="{namespace}">\n'
        f"<channel><title>{_xml_text(title)}</title><description>{_xml_text(title)} results</description>"
        f'<{prefix}:response offset="{int(offset)}" total="0"/></channel>\n</rss>\n'
    ).encode()


def _xml_text(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _int_or_none(v: str | None) -> int | None:
    try:
        return int(v) if v is not None else None
    except ValueError:
        return None


def _numeric(v: str) -> bool:
    try:
        float(v)
    except ValueError:
        return False
    return True
