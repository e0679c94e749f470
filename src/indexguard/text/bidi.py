"""Display order: the part of the Unicode Bidirectional Algorithm (UAX #9) that decides what order a
reader sees characters in.

An uploader can store `\u202eukzib` (a right-to-left override, then the term backwards): a reader sees
the term, stored-order matching sees gibberish. This module computes the visual order of each line:
explicit embeddings, overrides and isolates (X1-X10, without the overflow bookkeeping a 125-deep
stack never needs in a title), weak and neutral types resolved within runs of one level (W1, W2, W7,
N1, N2), implicit levels (I1, I2) and reordering (L2). The paragraph is left-to-right, as on the
left-to-right sites the screened text is shown on. Mirroring (L4) changes glyphs, not order, and is
left out.
"""

from __future__ import annotations

import re
import unicodedata

from indexguard.text.rendered import Rendered

_MAX_DEPTH = 125
_STRONG = {"L": "L", "R": "R", "AL": "R"}
_NUMBER = frozenset({"EN", "AN"})
# Anything that could move text: explicit controls, marks and right-to-left letters.
_MAY_REORDER = re.compile(
    "[\u0590-\u08ff\u200f\u202a-\u202e\u2066-\u2069\ufb1d-\ufdff\ufe70-\ufefe\U00010800-\U00010fff\U0001e800-\U0001efff]"
)


def may_reorder(text: str) -> bool:
    """The cheap pre-check: ASCII, and text with no right-to-left letter or control, display as stored."""
    return not text.isascii() and _MAY_REORDER.search(text) is not None


def display_order(text: str) -> Rendered | None:
    """`text` in the order a reader sees it, line by line; None when that is the stored order."""
    if not may_reorder(text):
        return None
    order: list[int] = []
    start = 0
    for line in text.split("\n"):
        order.extend(start + i for i in _visual(line))
        start += len(line)
        if start < len(text):
            order.append(start)
            start += 1
    if order == list(range(len(text))):
        return None
    return Rendered.of("".join(text[i] for i in order), order)


def _visual(line: str) -> list[int]:
    levels, types = _explicit(line)
    _resolve(levels, types)
    _removed_take_neighbours(levels, types)
    return _reorder(levels)


def _removed_take_neighbours(levels: list[int], types: list[str]) -> None:
    """X9: embedding and override controls are removed before reordering, so the runs on either side of
    them join (`RLO uzi PDF RLO b PDF` shows one reversed run). Giving each the level of the character
    before it (after it, at the start) has the same effect."""
    for i, t in enumerate(types):
        if t == "BN":
            if i > 0:
                levels[i] = levels[i - 1]
            else:
                nxt = next((k for k in range(len(types)) if types[k] != "BN"), None)
                levels[i] = levels[nxt] if nxt is not None else 0


def _explicit(line: str) -> tuple[list[int], list[str]]:
    """X1-X10: each character's embedding level and bidi type, overrides applied."""
    stack: list[tuple[int, str | None, bool]] = [(0, None, False)]
    levels: list[int] = []
    types: list[str] = []
    for i, ch in enumerate(line):
        t = unicodedata.bidirectional(ch)
        level, override, _ = stack[-1]
        if t in ("RLE", "LRE", "RLO", "LRO"):
            new = _next_level(level, rtl=t[0] == "R")
            if new <= _MAX_DEPTH:
                stack.append((new, {"RLO": "R", "LRO": "L"}.get(t), False))
            levels.append(level)
            types.append("BN")
        elif t in ("RLI", "LRI", "FSI"):
            levels.append(level)
            types.append(override or "ON")
            # An isolate past the depth limit is ignored, so FSI's look-ahead runs at most 125 deep.
            if _next_level(level, rtl=False) <= _MAX_DEPTH or _next_level(level, rtl=True) <= _MAX_DEPTH:
                rtl = t == "RLI" or (t == "FSI" and _first_strong(line, i + 1) == "R")
                new = _next_level(level, rtl=rtl)
                if new <= _MAX_DEPTH:
                    stack.append((new, None, True))
        elif t == "PDI":
            if any(iso for _, _, iso in stack[1:]):
                while not stack[-1][2]:
                    stack.pop()
                stack.pop()
            level, override, _ = stack[-1]
            levels.append(level)
            types.append(override or "ON")
        elif t == "PDF":
            if len(stack) > 1 and not stack[-1][2]:
                stack.pop()
            levels.append(level)
            types.append("BN")
        else:
            levels.append(level)
            types.append(override or t)
    return levels, types


def _next_level(level: int, *, rtl: bool) -> int:
    return level + 1 + (level % 2 == (1 if rtl else 0))


def _first_strong(line: str, start: int) -> str:
    """P2 for an FSI: the first strong type before its matching PDI."""
    depth = 0
    for ch in line[start:]:
        t = unicodedata.bidirectional(ch)
        if t in ("RLI", "LRI", "FSI"):
            depth += 1
        elif t == "PDI":
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and t in _STRONG:
            return _STRONG[t]
    return "L"


def _resolve(levels: list[int], types: list[str]) -> None:
    """W1, W2, W7, N1, N2 within each run of one level, then I1-I2 (levels updated in place)."""
    i = 0
    n = len(levels)
    while i < n:
        j = i
        while j < n and levels[j] == levels[i]:
            j += 1
        _resolve_run(levels, types, i, j)
        i = j


def _resolve_run(levels: list[int], types: list[str], lo: int, hi: int) -> None:
    level = levels[lo]
    embedding = "R" if level % 2 else "L"
    strong: list[str | None] = []
    last = embedding
    prev_type = "ON"
    for k in range(lo, hi):
        t = types[k]
        if t == "NSM":
            t = prev_type
        prev_type = t
        if t in _STRONG:
            last = _STRONG[t]
            strong.append(last)
        elif t == "EN":
            strong.append("L" if last == "L" else "EN")
        elif t == "AN":
            strong.append("AN")
        else:
            strong.append(None)
    # N1/N2: a run of neutrals between two of the same direction takes it, else the embedding's.
    k = 0
    size = hi - lo
    while k < size:
        if strong[k] is not None:
            k += 1
            continue
        m = k
        while m < size and strong[m] is None:
            m += 1
        before = _direction(strong[k - 1]) if k > 0 else embedding
        after = _direction(strong[m]) if m < size else embedding
        fill = before if before == after else embedding
        for q in range(k, m):
            strong[q] = fill
        k = m
    for k, resolved in enumerate(strong):
        levels[lo + k] = _implicit(level, resolved or embedding)


def _direction(t: str | None) -> str:
    return "L" if t == "L" else "R"


def _implicit(level: int, t: str) -> int:
    if level % 2 == 0:
        return level + (1 if t == "R" else 2 if t in _NUMBER else 0)
    return level + (1 if t == "L" or t in _NUMBER else 0)


def _reorder(levels: list[int]) -> list[int]:
    """L2: reverse every run at each level from the highest down to the lowest odd level."""
    order = list(range(len(levels)))
    if not levels:
        return order
    top = max(levels)
    lowest_odd = min((lv for lv in levels if lv % 2), default=top + 1)
    for lv in range(top, lowest_odd - 1, -1):
        # list.index finds run edges in C: a title nested 125 levels deep still reorders quickly.
        inside = [levels[o] >= lv for o in order]
        i = 0
        while True:
            try:
                i = inside.index(True, i)
            except ValueError:
                break
            try:
                j = inside.index(False, i)
            except ValueError:
                j = len(order)
            order[i:j] = order[i:j][::-1]
            i = j
    return order
