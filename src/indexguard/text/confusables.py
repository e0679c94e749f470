"""Confusable skeleton to ASCII, built from Unicode's confusables data as `confusable_homoglyphs`
ships it (never a hand-typed table)."""

from __future__ import annotations

import json
from collections import deque
from functools import cache
from importlib import resources

_ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_VERTICAL_STROKE = frozenset("lI|")


def _load_graph() -> dict[str, set[str]]:
    raw = resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8")
    data: dict[str, list[dict[str, str]]] = json.loads(raw)
    graph: dict[str, set[str]] = {}
    for key, glyphs in data.items():
        for g in glyphs:
            other = g["c"].strip("\u200e\u200f")
            if len(key) == 1 and len(other) == 1:
                graph.setdefault(key, set()).add(other)
                graph.setdefault(other, set()).add(key)
    return graph


@cache
def ascii_skeleton() -> dict[str, str]:
    """Map each non-ASCII character that looks like an ASCII letter or digit to that character.

    Breadth-first over the confusable graph (at most two hops), preferring a letter over a digit,
    so Cyrillic 'к' (listed as confusable with Latin kra) still lands on 'k'.
    """
    graph = _load_graph()
    out: dict[str, str] = {}
    for start in graph:
        if start.isascii():
            continue
        target = _nearest_ascii(graph, start)
        if target is not None:
            out[start] = target
    # Casefolding runs first, so a lowercase letter whose capital is listed (Cyrillic к / К) takes
    # its capital's skeleton.
    for start in graph:
        low = start.lower()
        if not low.isascii() and len(low) == 1 and low not in out and start in out:
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
                # Looks like l and I at once: `1` is the one spelling stage two accepts for both.
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
