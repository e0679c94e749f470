"""What a reader sees after a site renders stored markup: HTML character references decoded, HTML
and BBCode tags removed.

Titles and descriptions arrive as stored; a site that renders them as HTML or BBCode shows
`bi&#122;u` and `bi[b]z[/b]u` as one word. Inline tags vanish; block tags (paragraphs, line breaks,
list items, quotes) start a new line on screen, so they become a separator. Only what the HTML
tokenizer reads as a tag (`<` then a letter) and the BBCode tags forum software renders count: an
unknown bracketed word (`[GROUP]`) is shown as typed. One pass, as the site renders once: `&amp;#98;`
shows `&#98;`, not `b`.
"""

from __future__ import annotations

import html
import re

from indexguard.text.rendered import Rendered

_BBCODE_INLINE = "b|i|u|s|color|colour|size|font|url|email|sup|sub|highlight|spoiler|left|right|em|strong"
_BBCODE_BLOCK = "quote|code|list|center|hr|br|table|tr|td|th|img|youtube|video|indent|pre|\\*"
_HTML_BLOCK = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "img",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    ]
)

_TOKEN = re.compile(
    r"(?P<ref>&(?:#[xX][0-9a-fA-F]{1,8};?|#[0-9]{1,10};?|[A-Za-z][A-Za-z0-9]{0,31};?))"
    r"|(?P<comment><!--.*?(?:-->|\Z))"
    r"|(?P<html></?(?P<hname>[A-Za-z][A-Za-z0-9]*)\b[^<>]*>)"
    rf"|(?P<bbin>\[/?(?:{_BBCODE_INLINE})(?:=[^\[\]\n]*)?\])"
    rf"|(?P<bbblock>\[/?(?:{_BBCODE_BLOCK})(?:=[^\[\]\n]*)?\])",
    re.IGNORECASE | re.DOTALL,
)


# The bulk path's pre-check, as literals for one Hyperscan scan over a buffer of many titles: `&` and `<`
# (any character reference or tag starts with one), and the BBCode tags render() removes, in any case
# (`[b]`, `[/color=`). A line holding one takes the full path, which renders it.
MARKUP_LITERALS: tuple[bytes, ...] = (b"&", b"<")
BBCODE_LITERALS: tuple[bytes, ...] = tuple(
    f"{pre}{tag}{post}".encode("ascii")
    for tag in (_BBCODE_INLINE + "|" + _BBCODE_BLOCK).replace("\\*", "*").split("|")
    for pre in ("[", "[/")
    for post in ("]", "=")
)


# What starts something render() may change: a reference, a tag, a BBCode tag it knows.
_MARKUP_START = re.compile(rf"&#?[A-Za-z0-9]|<[A-Za-z/!]|\[/?(?:{_BBCODE_INLINE}|{_BBCODE_BLOCK})[\]=]", re.IGNORECASE)


def may_have_markup(text: str) -> bool:
    """The cheap pre-check: three character searches, then (for `[GROUP]` titles) one short regex."""
    if "&" not in text and "<" not in text and "[" not in text:
        return False
    return _MARKUP_START.search(text) is not None


def render(text: str) -> Rendered | None:
    """The text as a site displays it, with each character's index in `text`; None when rendering
    changes nothing."""
    if not may_have_markup(text):
        return None
    parts: list[str] = []
    offsets: list[int] = []
    ends: list[int] = []
    pos = 0
    changed = False
    for m in _TOKEN.finditer(text):
        shown = _shown(m)
        if shown is None:
            continue
        changed = True
        parts.append(text[pos : m.start()])
        offsets.extend(range(pos, m.start()))
        ends.extend(range(pos + 1, m.start() + 1))
        parts.append(shown)
        offsets.extend([m.start()] * len(shown))
        ends.extend([m.end()] * len(shown))
        pos = m.end()
    if not changed:
        return None
    parts.append(text[pos:])
    offsets.extend(range(pos, len(text)))
    ends.extend(range(pos + 1, len(text) + 1))
    return Rendered("".join(parts), offsets, ends)


def glued(text: str) -> tuple[set[int], set[int]]:
    """Where rendering joins two words: (ends, starts) of the stored text's runs of inline tags that sit
    between two letters (`de[b]lefiko` shows `delefiko`). A match in the stored text that begins at one
    of the ends, or ends at one of the starts, is not a word the reader sees."""
    ends: set[int] = set()
    starts: set[int] = set()
    tokens = [m for m in _TOKEN.finditer(text) if _shown(m) == ""]
    i = 0
    while i < len(tokens):
        j = i
        while j + 1 < len(tokens) and tokens[j + 1].start() == tokens[j].end():
            j += 1
        lo, hi = tokens[i].start(), tokens[j].end()
        if lo > 0 and hi < len(text) and text[lo - 1].isalnum() and text[hi].isalnum():
            ends.add(hi)
            starts.add(lo)
        i = j + 1
    return ends, starts


def _shown(m: re.Match[str]) -> str | None:
    """What the reader sees in place of one markup token; None to keep it as typed."""
    if m.group("ref"):
        out = html.unescape(m.group())
        return None if out == m.group() else out
    if m.group("comment") or m.group("bbin"):
        return ""
    if m.group("bbblock"):
        return "\n"
    name = (m.group("hname") or "").lower()
    return "\n" if name in _HTML_BLOCK else ""
