"""Confusable skeleton to ASCII, built from Unicode's confusables data as `confusable_homoglyphs`
ships it (never a hand-typed table).

The package keeps confusables.txt as a symmetric graph: each line `source ; prototype` becomes an edge
both ways, and a prototype may be several code points (a letter plus combining marks: Greek `η` is
`n` with a vertical line below). Two tables come out of it:

- `latin_prototypes()`: every character whose prototype is an ASCII letter or digit, possibly followed
  by combining marks, with that letter. This is the authoritative part: confusables.txt says it.
- `ascii_skeleton()`: that table, plus characters one hop from a Latin look-alike (Cyrillic `к` is
  listed against Latin kra `ĸ`, which is listed against small capital `ᴋ`).
"""

from __future__ import annotations

import json
import unicodedata
from collections import deque
from functools import cache
from importlib import resources
from importlib.metadata import version

_ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_VERTICAL_STROKE = frozenset("lI|")
_BIDI_MARKS = "\u200e\u200f"


def data_version() -> str:
    """Which package (and version) the confusables data comes from, for the canonicalizer version."""
    return f"confusable-homoglyphs {version('confusable-homoglyphs')}"


@cache
def _pairs() -> frozenset[tuple[str, str]]:
    raw = resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8")
    data: dict[str, list[dict[str, str]]] = json.loads(raw)
    out: set[tuple[str, str]] = set()
    for key, glyphs in data.items():
        a = key.strip(_BIDI_MARKS)
        for g in glyphs:
            b = g["c"].strip(_BIDI_MARKS)
            if a and b and a != b:
                out.add((a, b))
    return frozenset(out)


def prototype_letter(proto: str) -> str | None:
    """The ASCII letter or digit a prototype spells: `n` for `n` + marks; `1` for glyphs that look like
    both l and I (the one spelling stage two accepts for either); None for anything else."""
    if not proto or not proto[0].isascii() or not proto[0].isalnum():
        return None
    if not all(unicodedata.category(c).startswith("M") for c in proto[1:]):
        return None
    if proto[0] in _VERTICAL_STROKE:
        return "1"
    return proto[0].lower()


@cache
def latin_prototypes() -> dict[str, str]:
    """Every non-ASCII character whose confusables prototype is an ASCII letter or digit (+ marks).

    ASCII characters are never the source of a non-ASCII prototype, so a pair between a single
    non-ASCII character and an ASCII-led prototype reads in that direction only.
    """
    out: dict[str, str] = {}
    for a, b in _pairs():
        if len(a) == 1 and not a.isascii():
            letter = prototype_letter(b)
            if letter is not None:
                out[a] = letter
    return out


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for a, b in _pairs():
        if len(a) == 1 and len(b) == 1:
            graph.setdefault(a, set()).add(b)
    return graph


@cache
def ascii_skeleton() -> dict[str, str]:
    """Map each non-ASCII character that looks like an ASCII letter or digit to that character.

    The prototype table first; then, for characters it does not cover, breadth-first over the
    single-character graph (at most two hops), preferring a letter over a digit, so Cyrillic `к`
    (listed against Latin kra) still lands on `k`.
    """
    graph = _graph()
    out: dict[str, str] = {}
    for start in graph:
        if start.isascii():
            continue
        target = _nearest_ascii(graph, start)
        if target is not None:
            out[start] = target
    out.update(latin_prototypes())
    # Casefolding runs first, so a lowercase letter whose capital is listed (Cyrillic к / К) takes
    # its capital's skeleton.
    for start in list(out):
        low = start.lower()
        if not low.isascii() and len(low) == 1 and low not in out:
            out[low] = out[start]
    return out


def _nearest_ascii(graph: dict[str, set[str]], start: str) -> str | None:
    seen = {start}
    frontier: deque[tuple[str, int]] = deque([(start, 0)])
    found: list[str] = []
    found_depth = None
    while frontier:
        node, depth = frontier.popleft()
        if found_depth is not None and depth > found_depth:
            break
        for nxt in sorted(graph.get(node, ())):
            if nxt in _VERTICAL_STROKE:
                return "1"
            low = nxt.lower() if nxt.isascii() else nxt
            if low in _ASCII_ALNUM:
                found.append(low)
                found_depth = depth
            elif depth < 1 and nxt not in seen:
                seen.add(nxt)
                frontier.append((nxt, depth + 1))
    if not found:
        return None
    letters = sorted(c for c in found if c.isalpha())
    return letters[0] if letters else sorted(found)[0]
