"""The compact view: folded text reduced to its letter units, separators dropped.

Every evasion in the family (spaced or dotted letters, joined or underscored phrases, camelCase,
leet symbols, multi-character leet) leaves a term's letters contiguous in this view, so one literal
scan finds all candidates; each unit keeps its span in the folded text so stage two can judge the
separators that were dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from indexguard.text.leet import COLLAPSE, COLLAPSE_TABLE, LEET_SYMBOLS, MULTI

_MULTI_ALT = "|".join(re.escape(m) for m in sorted(MULTI, key=len, reverse=True))
_SYMBOLS = "".join(re.escape(s) for s in sorted(LEET_SYMBOLS))
_UNIT = re.compile(f"{_MULTI_ALT}|[^\\W_]|[{_SYMBOLS}]|\\n")
_MULTI_RE = re.compile(_MULTI_ALT)
_ASCII_UNITS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789\n") | LEET_SYMBOLS


@dataclass(frozen=True, slots=True)
class Compact:
    """`text` is the collapsed compact view; `starts[i]`/`ends[i]` are the folded span of unit i."""

    text: str
    starts: list[int]
    ends: list[int]


_UNIT_NO_SYMBOLS = re.compile(f"{_MULTI_ALT}|[^\\W_]|\\n")


def compact_without_symbols(folded: str) -> Compact | None:
    """The compact view reading leet symbols (| + ! $ @) as separators, for `w|o|r|d` and `w+o+r+d`;
    None when the text has no such symbol (the view would equal the ordinary one)."""
    if not any(s in folded for s in LEET_SYMBOLS):
        return None
    return _walk(_UNIT_NO_SYMBOLS, folded, 0)


def compact(folded: str, base: int = 0) -> Compact:
    """Compact view of `folded` (already canonicalized); spans are offset by `base`."""
    if folded.isascii() and not _MULTI_RE.search(folded):
        # Every unit is one character: a comprehension is several times faster than the regex walk.
        keep = _ASCII_UNITS
        at = [i for i, c in enumerate(folded) if c in keep]
        text = "".join([folded[i] for i in at]).translate(COLLAPSE_TABLE)
        return Compact(text, [i + base for i in at], [i + base + 1 for i in at])
    return _walk(_UNIT, folded, base)


def unit_letters(folded: str, units: Compact) -> str:
    """The letter each unit of `compact(folded)` stands for, before collapsing: multi-character leet
    read as its letter (`|<` is `k`)."""
    if folded.isascii() and not _MULTI_RE.search(folded):
        return "".join(map(folded.__getitem__, units.starts))  # one character a unit, as in compact()
    return "".join(MULTI.get(folded[s:t], folded[s:t]) for s, t in zip(units.starts, units.ends, strict=True))


def _walk(unit: re.Pattern[str], folded: str, base: int) -> Compact:
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for m in unit.finditer(folded):
        piece = m.group()
        letter = MULTI.get(piece, piece)
        chars.append(COLLAPSE.get(letter, letter))
        starts.append(m.start() + base)
        ends.append(m.end() + base)
    return Compact("".join(chars), starts, ends)
