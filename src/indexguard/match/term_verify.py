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

_LETTER_SYMBOLS = frozenset("!@$")


@dataclass(frozen=True, slots=True)
class TermMatch:
    entry: int  # index into the matcher's entry table
    start: int  # span in the folded text
    end: int
    view: str


@cache
def _allowed(ch: str) -> frozenset[str]:
    return allowed(ch)


def verify(entry: TermEntry, index: int, folded: Folded, starts: list[int], ends: list[int]) -> TermMatch | None:
    text = folded.text
    n = len(entry.letters)
    if len(starts) != n:
        return None
    head, tail = starts[0], ends[-1]
    if tail - head == n and text[head:tail] == entry.letters:
        # The common case, checked in one comparison: n units in n characters are one character each
        # and contiguous, each the term's own letter. No separator inside: the gaps depend on the term only.
        leet = False
        spaced, joined = _contiguous_gaps(entry.token_ends, n)
    else:
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
    if spaced and _run_goes_on(text, starts, ends):
        return None
    camel_used = False
    if entry.mode != "substring":
        ok, camel = _boundary_before(folded, head)
        if not ok or (not spaced and _letter_symbol_between(text, head - 1)):
            return None
        camel_used |= camel
    if entry.mode not in ("prefix", "substring"):
        ok, camel = _boundary_after(folded, tail)
        if not ok or (not spaced and _letter_symbol_between(text, tail)):
            return None
        camel_used |= camel
    if camel_used and _case_steps_inside(entry, folded, starts):
        return None
    view = _view(folded, head, tail, leet=leet, spaced=spaced, camel=camel_used, joined=joined)
    return TermMatch(index, head, tail, view)


def _run_goes_on(text: str, starts: list[int], ends: list[int]) -> bool:
    """A spelled-out word (`x b i z u y`) is read whole: a match that begins or ends with a single letter
    must not have another single letter just beyond a separator no wider than its own (else `bizu` would
    be found in `x b i z u y`). A wider break ends the word: `b.i.z.u a` still reads `bizu`."""
    n = len(starts)
    inner = -1  # the widest gap inside the match (1 when it has none)
    for i in range(n - 1):
        if ends[i] != starts[i + 1]:
            inner = max(inner, _gap_width(text[ends[i] : starts[i + 1]]))
            if inner == 2:
                break
    if inner < 0:
        inner = 1
    if n == 1 or ends[0] != starts[1]:
        gap = _single_letter_before(text, starts[0])
        if gap is not None and _gap_width(gap) <= inner:
            return True
    if n == 1 or ends[-2] != starts[-1]:
        gap = _single_letter_after(text, ends[-1])
        if gap is not None and _gap_width(gap) <= inner:
            return True
    return False


def _gap_width(gap: str) -> int:
    """0: punctuation only (`b.i`); 1: one space; 2: more."""
    if len(gap) == 1:
        return 1 if gap.isspace() else 0
    return min(sum(map(str.isspace, gap)), 2)


def _single_letter_before(text: str, pos: int) -> str | None:
    """The separator before `pos` when a lone letter stands before it as part of the same spelled-out run:
    after the text's start or a separator as wide (`x b i z u`; not `Game.A b i z u`, where the A belongs
    to what comes before)."""
    gap_start = _skip_separators_back(text, pos)
    if gap_start == pos or gap_start == 0 or not text[gap_start - 1].isalpha():
        return None
    letter = gap_start - 1
    outer = _skip_separators_back(text, letter)
    gap = text[gap_start:pos]
    if outer == 0 or text[outer - 1] == "\n":
        return gap
    if outer == letter:
        return None  # the letter ends a longer word
    return gap if _gap_width(text[outer:letter]) == _gap_width(gap) else None


def _single_letter_after(text: str, pos: int) -> str | None:
    """The separator after `pos` when a lone letter stands after it as part of the same spelled-out run."""
    gap_end = _skip_separators(text, pos)
    if gap_end == pos or gap_end >= len(text) or not text[gap_end].isalpha():
        return None
    letter = gap_end
    outer = _skip_separators(text, letter + 1)
    gap = text[pos:gap_end]
    if outer >= len(text) or text[outer] == "\n":
        return gap
    if outer == letter + 1:
        return None  # the letter starts a longer word
    return gap if _gap_width(text[letter + 1 : outer]) == _gap_width(gap) else None


def _skip_separators_back(text: str, pos: int) -> int:
    while pos > 0 and not text[pos - 1].isalnum() and text[pos - 1] != "\n":
        pos -= 1
    return pos


def _skip_separators(text: str, pos: int) -> int:
    while pos < len(text) and not text[pos].isalnum() and text[pos] != "\n":
        pos += 1
    return pos


def _case_steps_inside(entry: TermEntry, folded: Folded, starts: list[int]) -> bool:
    """A camelCase boundary counts only in camelCase text: a match whose own letters step from lower to
    upper case other than between the term's words (`GuFekOLo`) is randomly cased, not camelCase."""
    return any(_camel(folded, starts[k]) for k in range(1, len(starts)) if k - 1 not in entry.token_ends)


@cache
def _contiguous_gaps(token_ends: frozenset[int], n: int) -> tuple[bool | None, bool]:
    """_check_gaps of a candidate whose n units are contiguous (it reads no text then)."""
    return _gaps(token_ends, "", list(range(n)), list(range(1, n + 1)))


def _check_gaps(entry: TermEntry, text: str, starts: list[int], ends: list[int]) -> tuple[bool | None, bool]:
    """(spaced, joined): spaced is None when a separator splits a token outside a single-letter run."""
    return _gaps(entry.token_ends, text, starts, ends)


def _gaps(token_ends: frozenset[int], text: str, starts: list[int], ends: list[int]) -> tuple[bool | None, bool]:
    n = len(starts)
    gap_after = [ends[i] != starts[i + 1] for i in range(n - 1)] + [True]
    spaced = joined = False
    piece_start = 0
    for i in range(n):
        if i < n - 1 and gap_after[i] and "\n" in text[ends[i] : starts[i + 1]]:
            return None, False
        if i < n - 1 and not gap_after[i]:
            if i in token_ends:
                joined = True
            continue
        # units piece_start..i form one piece between separators
        whole_tokens = (piece_start == 0 or piece_start - 1 in token_ends) and i in token_ends
        single = piece_start == i
        if not whole_tokens:
            if not single:
                return None, False
            spaced = True
        piece_start = i + 1
    return spaced, joined


def _letter_symbol_between(text: str, pos: int) -> bool:
    """`d!sateket` reads as one leet word: `! @ $` between two letters stand for a letter, not a break
    (`| +` still separate, as in `w|o|r|d`)."""
    return (
        0 < pos < len(text) - 1 and text[pos] in _LETTER_SYMBOLS and text[pos - 1].isalnum() and text[pos + 1].isalnum()
    )


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
