"""The canonicalizer: one versioned character fold applied identically to list terms and inputs.

The fold of one character is: drop it if it is default-ignorable; NFKD (fullwidth, mathematical
alphanumerics, circled letters, ligatures); drop combining marks; casefold; map confusables from other
scripts to the ASCII letter they imitate; transliterate the remaining Latin letters (ø, ł, đ) with
anyascii. It is iterated to a fixed point, so canonicalization is idempotent. Per-character folding
keeps an exact offset map from folded text back to the original.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from importlib.metadata import version

from anyascii import anyascii

from indexguard.text.confusables import ascii_skeleton, data_version
from indexguard.text.ignorables import is_ignorable

_DIGITS = ("ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE")
# A character named for one Latin letter or digit in a style (`SCRIPT CAPITAL P`, `NEGATIVE SQUARED
# LATIN CAPITAL LETTER M`, `REGIONAL INDICATOR SYMBOL LETTER M`, `DOUBLE CIRCLED DIGIT ONE`) reads as
# it. Only style words may come before the letter: a script's name (Cherokee `SMALL LETTER A` looks like
# d) or a shape change (`TURNED`, `REVERSED`) means it does not.
_NAMED_LETTER = re.compile(r"(?:CAPITAL|SMALL|SYMBOL) (?:LETTER )?([A-Z])$|\bDIGIT (" + "|".join(_DIGITS) + ")$")
_STYLE_WORDS = frozenset(
    [
        "LATIN",
        "LETTER",
        "CAPITAL",
        "SMALL",
        "SYMBOL",
        "DIGIT",
        "MATHEMATICAL",
        "BOLD",
        "ITALIC",
        "SCRIPT",
        "FRAKTUR",
        "DOUBLE-STRUCK",
        "SANS-SERIF",
        "MONOSPACE",
        "BLACK-LETTER",
        "MODIFIER",
        "SUPERSCRIPT",
        "SUBSCRIPT",
        "CIRCLED",
        "NEGATIVE",
        "SQUARED",
        "PARENTHESIZED",
        "REGIONAL",
        "INDICATOR",
        "DOUBLE",
        "DINGBAT",
        "TORTOISE",
        "SHELL",
        "BRACKETED",
        "FULLWIDTH",
        "HALFWIDTH",
        "OUTLINED",
    ]
)


def _versions() -> str:
    return f"unicodedata {unicodedata.unidata_version}; {data_version()}; anyascii {version('anyascii')}"


CANONICALIZER_VERSION = f"ig-canon-2 ({_versions()})"


def named_letter(ch: str) -> str | None:
    """The ASCII letter or digit a character's Unicode name says it is drawn as, if any."""
    name = unicodedata.name(ch, "")
    m = _NAMED_LETTER.search(name)
    if m is None or not _STYLE_WORDS.issuperset(name[: m.start()].split()):
        return None
    if m.group(1):
        return m.group(1).lower()
    return str(_DIGITS.index(m.group(2)))


def _fold_once(ch: str, skeleton: dict[str, str]) -> str:
    if is_ignorable(ch):
        return ""
    if ch in skeleton:
        return skeleton[ch]
    compat = unicodedata.normalize("NFKD", ch)
    category = unicodedata.category(ch)
    if category[0] in "SN" and compat != ch:
        alnum = [c for c in compat if c.isalnum()]
        if len(alnum) > 1:
            # A symbol that decomposes to several letters (™ -> tm, ℡ -> tel) must not glue letters
            # onto the word beside it; it stays a separator.
            return ch
        if len(alnum) == 1:
            # Parenthesised and punctuated forms (⒝ -> (b), ⒈ -> 1.) read as the one letter inside.
            compat = alnum[0]
    out: list[str] = []
    for c in compat:
        if not c.isascii() and c in skeleton:
            # Before casefolding: Greek capital Nu looks like N, but its lowercase looks like v.
            out.append(skeleton[c])
            continue
        for f in unicodedata.normalize("NFKD", c.casefold()):
            out.append(_fold_lower(f, skeleton))
    return "".join(out)


def _fold_lower(c: str, skeleton: dict[str, str]) -> str:
    if c.isascii():
        return c
    if unicodedata.category(c).startswith("M") or is_ignorable(c):
        return ""
    if c in skeleton:
        return skeleton[c]
    name = unicodedata.name(c, "")
    if name.startswith("LATIN"):
        t = anyascii(c).lower()
        return t if t.isalnum() else c
    # Letter-shaped characters with no decomposition: 🅼 (negative squared M), 🇲 (regional indicator
    # M), ℘ (script capital P), ⓵ (double circled digit one).
    return named_letter(c) or c


class FoldTable(dict[int, str]):
    """A `str.translate` table that folds each code point on first sight and caches it."""

    def __init__(self) -> None:
        super().__init__()
        self._skeleton = ascii_skeleton()
        for cp in range(128):
            self[cp] = chr(cp).lower()

    def __missing__(self, cp: int) -> str:
        folded = self._fold(chr(cp))
        self[cp] = folded
        return folded

    def _fold(self, ch: str) -> str:
        current = _fold_once(ch, self._skeleton)
        for _ in range(4):
            nxt = "".join(_fold_once(c, self._skeleton) if not c.isascii() else c for c in current)
            if nxt == current:
                break
            current = nxt
        return current


@dataclass(frozen=True, slots=True)
class Folded:
    """Folded text and, for each folded character, the index of the original character it came from.

    `offsets` is None when the input was ASCII: then folding is lowercasing and offsets are identity.
    """

    text: str
    original: str
    offsets: list[int] | None

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        if self.offsets is None:
            return (start, end)
        if start >= end:
            pos = self.offsets[start] if start < len(self.offsets) else len(self.original)
            return (pos, pos)
        return (self.offsets[start], self.offsets[end - 1] + 1)

    def original_char(self, folded_index: int) -> str:
        if self.offsets is None:
            return self.original[folded_index]
        return self.original[self.offsets[folded_index]]


class Canonicalizer:
    """Folds text. One instance per process is enough; it caches per-code-point results."""

    version = CANONICALIZER_VERSION

    def __init__(self) -> None:
        self._table = FoldTable()

    def canonical(self, text: str) -> str:
        if text.isascii():
            return text.lower()
        return text.translate(self._table)

    def fold(self, text: str) -> Folded:
        if text.isascii():
            return Folded(text.lower(), text, None)
        table = self._table
        parts: list[str] = []
        offsets: list[int] = []
        for i, ch in enumerate(text):
            f = table[ord(ch)]
            if f:
                parts.append(f)
                offsets.extend([i] * len(f))
        return Folded("".join(parts), text, offsets)
