"""Torznab and Newznab RSS: parse an indexer's answer, screen its items, write a feed back.

The feed is parsed with defusedxml (no DTDs, no entities) into an ElementTree that the proxy edits
in place: dropped items are removed, links rewritten, and everything else (channel metadata, the
caps document, unknown extensions) is written back as it came. Errors follow the Newznab API's
`<error code=".." description=".."/>` documents, which the Torznab specification keeps.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from xml.sax.saxutils import quoteattr

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from indexguard.errors import LimitExceeded, ParseError
from indexguard.screen.item import Item

TORZNAB_NS = "http://torznab.com/schemas/2015/feed"
NEWZNAB_NS = "http://www.newznab.com/DTD/2010/feeds/attributes/"
ATOM_NS = "http://www.w3.org/2005/Atom"
ATTR_NAMESPACES = (TORZNAB_NS, NEWZNAB_NS)
MAX_FEED_BYTES = 20 * 1024 * 1024
MAX_ITEMS = 10_000

# Registering the prefixes keeps `torznab:attr` readable on output instead of `ns0:attr`; the
# registry is process-wide in ElementTree, and these are the names every client expects anyway.
for _prefix, _uri in (("torznab", TORZNAB_NS), ("newznab", NEWZNAB_NS), ("atom", ATOM_NS)):
    ET.register_namespace(_prefix, _uri)

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


@dataclass
class FeedItem:
    """One `<item>` of a result feed, with the fields screening needs."""

    element: ET.Element
    index: int
    title: str = ""
    description: str = ""
    guid: str = ""
    enclosure_url: str = ""
    enclosure_type: str = ""
    link: str = ""
    attrs: list[tuple[str, str]] = field(default_factory=list)

    def attr(self, name: str) -> str | None:
        for n, v in self.attrs:
            if n == name:
                return v
        return None

    def magnet(self) -> str | None:
        for candidate in (self.attr("magneturl"), self.enclosure_url, self.link):
            if candidate and candidate.lower().startswith("magnet:"):
                return candidate
        return None

    def to_item(self) -> Item:
        texts = [v for n, v in self.attrs if n not in NON_TEXT_ATTRS and v and not _numeric(v)]
        infohash = self.attr("infohash")
        return Item(
            id=self.guid or f"item-{self.index}",
            kind="listing",
            title=self.title or None,
            description=self.description or None,
            text="\n".join(texts) or None,
            magnet=self.magnet(),
            hashes={"infohash": [infohash.strip()]} if infohash and infohash.strip() else {},
        )


@dataclass
class Feed:
    root: ET.Element
    channel: ET.Element
    namespace: str  # the attribute namespace this feed uses (torznab or newznab)
    items: list[FeedItem]

    def response(self) -> tuple[int | None, int | None]:
        """(offset, total) from `<newznab:response>`/`<torznab:response>`, when present."""
        el = _find_response(self.channel)
        if el is None:
            return None, None
        return _int_or_none(el.get("offset")), _int_or_none(el.get("total"))


def parse_document(data: bytes) -> ET.Element:
    if len(data) > MAX_FEED_BYTES:
        raise LimitExceeded("torznab feed", f"document of {len(data)} bytes exceeds {MAX_FEED_BYTES}")
    try:
        root = fromstring(data, forbid_dtd=True)
    except DefusedXmlException as e:
        raise FeedError(f"forbidden XML construct ({type(e).__name__})") from None
    except ET.ParseError as e:
        raise FeedError(f"not well-formed XML ({e})") from None
    except (LookupError, ValueError) as e:
        # An XML declaration naming an encoding Python does not know (e.g. "AUTF-8"), found by fuzzing.
        raise FeedError(f"unreadable XML declaration ({e})") from None
    if not isinstance(root, ET.Element):
        raise FeedError("no root element")
    return root


def upstream_error(root: ET.Element) -> UpstreamError | None:
    if _local(root.tag) != "error":
        return None
    code = _int_or_none(root.get("code"))
    return UpstreamError(code if code is not None else 900, root.get("description") or "")


def parse_feed(data: bytes) -> Feed:
    """A result feed (`<rss><channel><item>…`). Raises FeedError for anything else."""
    root = parse_document(data)
    return feed_from_root(root)


def feed_from_root(root: ET.Element) -> Feed:
    if _local(root.tag) != "rss":
        raise FeedError(f"expected an <rss> document, found <{_local(root.tag)}>")
    channel = root.find("channel")
    if channel is None:
        raise FeedError("the feed has no <channel>")
    elements = channel.findall("item")
    if len(elements) > MAX_ITEMS:
        raise LimitExceeded("torznab feed", f"{len(elements)} items exceed {MAX_ITEMS}")
    items = [_item(el, i) for i, el in enumerate(elements)]
    return Feed(root, channel, _namespace_of(channel), items)


def iter_attr_elements(item: ET.Element) -> Iterator[ET.Element]:
    for ns in ATTR_NAMESPACES:
        yield from item.findall(f"{{{ns}}}attr")


def _item(el: ET.Element, index: int) -> FeedItem:
    enclosure = el.find("enclosure")
    attrs = [(a.get("name", "").strip().lower(), a.get("value", "")) for a in iter_attr_elements(el)]
    return FeedItem(
        element=el,
        index=index,
        title=_text(el, "title"),
        description=_text(el, "description"),
        guid=_text(el, "guid"),
        enclosure_url=enclosure.get("url", "") if enclosure is not None else "",
        enclosure_type=enclosure.get("type", "") if enclosure is not None else "",
        link=_text(el, "link"),
        attrs=attrs,
    )


def _namespace_of(channel: ET.Element) -> str:
    if channel.find(f"{{{NEWZNAB_NS}}}response") is not None:
        return NEWZNAB_NS
    for item in channel.iter("item"):
        if item.find(f"{{{NEWZNAB_NS}}}attr") is not None:
            return NEWZNAB_NS
        break
    return TORZNAB_NS


def _find_response(channel: ET.Element) -> ET.Element | None:
    for ns in ATTR_NAMESPACES:
        el = channel.find(f"{{{ns}}}response")
        if el is not None:
            return el
    return None


def set_response(feed: Feed, offset: int, total: int) -> None:
    """Write offset and total, adding the response element when the upstream had none."""
    el = _find_response(feed.channel)
    if el is None:
        el = ET.Element(f"{{{feed.namespace}}}response")
        first_item = feed.channel.find("item")
        position = list(feed.channel).index(first_item) if first_item is not None else len(feed.channel)
        feed.channel.insert(position, el)
    el.set("offset", str(offset))
    el.set("total", str(total))


def replace_items(feed: Feed, kept: list[ET.Element]) -> None:
    """Put exactly `kept` (in order) where the channel's items were."""
    children = list(feed.channel)
    first = next((i for i, c in enumerate(children) if c.tag == "item"), len(children))
    for c in children:
        if c.tag == "item":
            feed.channel.remove(c)
    for offset, el in enumerate(kept):
        feed.channel.insert(first + offset, el)


def serialize(root: ET.Element) -> bytes:
    # encoding="unicode" writes to a StringIO; "utf-8" goes through a codec writer per write call,
    # several times slower on a 100-item feed.
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode").encode("utf-8")


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


def _text(el: ET.Element, tag: str) -> str:
    child = el.find(tag)
    return (child.text or "").strip() if child is not None else ""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


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
