"""Stage two of term matching: decide whether a candidate really is the term.

A candidate is a run of letter units in the folded text (from either backend). It is the term when
every unit may stand for the term's letter, the separators between units fall only between the term's
tokens or inside a run of single letters (`w.o.r.d`), and both ends sit on a word boundary: a
separator, the text's edge, a camelCase step, or a number of two or more digits.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from indexguard.lists.terms import TermEntry
from indexguard.text.canonicalize import Folded
from indexguard.text.leet import allowed


@dataclass(frozen=True, slots=True)
class TermMatch:
    entry: int  # index into the matcher's entry table
    start: int  # span in the folded text
    end: int
    view: str


@cache
def _allowed(ch: str) -> frozenset[str]:
    return allowed(ch)


def verify(
    entry: TermEntry, index: int, folded: Folded, starts: list[int], ends: list[int]
) -> TermMatch | None:
    text = folded.text
    n = len(entry.letters)
    if len(starts) != n:
        return None
    leet = False
    for ch, s, e in zip(entry.letters, starts, ends, strict=True):
        piece = text[s:e]
        if piece != ch:
            if piece not in _allowed(ch):
                return None
            leet = True
    spaced, joined = _check_gaps(entry, text, starts, ends)
    if spaced is None:
        return None
    head, tail = starts[0], ends[-1]
    camel_used = False
    if entry.mode != "substring":
        ok, camel = _boundary_before(folded, head)
        if not ok:
            return None
        camel_used |= camel
    if entry.mode not in ("prefix", "substring"):
        ok, camel = _boundary_after(folded, tail)
        if not ok:
            return None
        camel_used |= camel
    view = _view(folded, head, tail, leet=leet, spaced=spaced, camel=camel_used, joined=joined)
    return TermMatch(index, head, tail, view)


def _check_gaps(entry: TermEntry, text: str, starts: list[int], ends: list[int]) -> tuple[bool | None, bool]:
    """(spaced, joined): spaced is None when a separator splits a token outside a single-letter run."""
    n = len(starts)
    gap_after = [ends[i] != starts[i + 1] for i in range(n - 1)] + [True]
    spaced = joined = False
    piece_start = 0
    for i in range(n):
        if i < n - 1 and gap_after[i] and "\n" in text[ends[i] : starts[i + 1]]:
            return None, False
        if i < n - 1 and not gap_after[i]:
            if i in entry.token_ends:
                joined = True
            continue
        # units piece_start..i form one piece between separators
        whole_tokens = (piece_start == 0 or piece_start - 1 in entry.token_ends) and i in entry.token_ends
        single = piece_start == i
        if not whole_tokens:
            if not single:
                return None, False
            spaced = True
        piece_start = i + 1
    return spaced, joined


def _is_word(ch: str) -> bool:
    return ch.isalnum()


def _camel(folded: Folded, pos: int) -> bool:
    if pos <= 0 or pos >= len(folded.text):
        return False
    a, b = folded.original_char(pos - 1), folded.original_char(pos)
    return a.islower() and b.isupper()


def _boundary_before(folded: Folded, pos: int) -> tuple[bool, bool]:
    text = folded.text
    if pos == 0 or not _is_word(text[pos - 1]):
        return True, False
    if _camel(folded, pos):
        return True, True
    j = pos
    while j > 0 and text[j - 1].isdigit():
        j -= 1
    return (pos - j >= 2 and (j == 0 or not _is_word(text[j - 1]))), False


def _caps_end(folded: Folded, pos: int) -> bool:
    """`BIZUpack`: a run of two or more capitals followed by lowercase ends a word."""
    if pos < 2 or pos >= len(folded.text):
        return False
    a, b, c = folded.original_char(pos - 2), folded.original_char(pos - 1), folded.original_char(pos)
    return a.isupper() and b.isupper() and c.islower()


def _boundary_after(folded: Folded, pos: int) -> tuple[bool, bool]:
    text = folded.text
    if pos >= len(text) or not _is_word(text[pos]):
        return True, False
    if _camel(folded, pos) or _caps_end(folded, pos):
        return True, True
    j = pos
    while j < len(text) and text[j].isdigit():
        j += 1
    return (j - pos >= 2 and (j == len(text) or not _is_word(text[j]))), False


def _view(folded: Folded, head: int, tail: int, *, leet: bool, spaced: bool, camel: bool, joined: bool) -> str:
    if leet:
        return "leet"
    if spaced:
        return "compact"
    s, e = folded.original_span(head, tail)
    if not folded.original[s:e].isascii() or (folded.offsets is not None and e - s != tail - head):
        return "skeleton"
    if camel:
        return "split"
    if joined:
        return "joined"
    return "standard"
