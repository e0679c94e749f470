"""The transliterated view: other scripts read aloud in Latin letters, with `anyascii` (ISC).

A reader of Cyrillic reads `бизу` as "bizu"; a reader of Japanese reads `ビズ` the same. The canonical
fold maps letters by how they *look* (Cyrillic `р` is p); this view maps them by how they *sound*
(`р` is r), so both readings are matched. Latin letters, digits and symbols are left to the fold.

anyascii gives one romanisation (Greek `β` as v, Cyrillic `х` as kh). A reader writing a foreign word in
Cyrillic or Greek picks the letters that *sound* like its Latin letters (h as `х`, j as `дж`, b as `μπ`, u as
`ου`), so a second, letter-for-letter reading undoes exactly that: `_SOUNDS_LIKE` lists, for
the letters and digraphs whose common romanisation is ambiguous, the Latin letter they stand for. It is
an alphabet fact, not vocabulary; every other letter reads as anyascii says.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from anyascii import anyascii

from indexguard.text.canonicalize import named_letter
from indexguard.text.rendered import Rendered


class _SoundTable(dict[int, str]):
    """A `str.translate` table: a non-Latin letter to its transliteration, computed on first sight."""

    def __missing__(self, cp: int) -> str:
        ch = chr(cp)
        out = _sound(ch)
        self[cp] = out
        return out


def _sound(ch: str) -> str:
    if not unicodedata.category(ch).startswith(("L", "M")):
        return ch
    name = unicodedata.name(ch, "")
    if not name or "LATIN" in name or unicodedata.normalize("NFKD", ch)[0].isascii() or named_letter(ch):
        # Latin letters in any style (modifier, small capital, mathematical) are read by the fold.
        return ch
    # anyascii capitalises each Han and Hangul syllable, so in scripts written without spaces the step
    # between two characters reads as a camelCase word boundary.
    return anyascii(ch)


_SOUNDS_LIKE = {
    # Cyrillic
    "дж": "j", "кс": "x", "х": "h", "й": "j", "ж": "j", "ц": "c", "ю": "ju", "я": "ja", "ё": "jo", "щ": "sh",
    "ъ": "", "ь": "",
    # Greek
    "ου": "u", "μπ": "b", "ντ": "d", "γκ": "g", "τζ": "j", "υ": "u", "η": "i", "ω": "o", "χ": "h", "ξ": "x",
    # Armenian, Hebrew, Arabic: the letters that also write the vowels u and i, and Hebrew bet as b
    "ու": "u", "ו": "u", "י": "i", "ב": "b", "و": "u", "ي": "i",
}  # fmt: skip
_SOUNDS_LIKE_RE = re.compile("|".join(sorted(_SOUNDS_LIKE, key=len, reverse=True)), re.IGNORECASE)


_WORD = re.compile(r"[^\W_]+")


def _latin_words(text: str, table: dict[int, str]) -> set[int]:
    """Positions read by how they look: inside a word that holds a Latin letter, every letter but Cyrillic
    and Greek ones (a Latin word with a Lisu or Armenian look-alike is a Latin word in disguise; one with
    Cyrillic `б` may be spelled by a Cyrillic reader). Words wholly in another script are read aloud."""
    keep: set[int] = set()
    for m in _WORD.finditer(text):
        word = m.group()
        if any(c.isalpha() and table[ord(c)] == c for c in word):
            start = m.start()
            keep.update(start + i for i, c in enumerate(word) if not _mixes_in(c))
    return keep


@lru_cache(maxsize=4096)
def _mixes_in(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith(("CYRILLIC", "GREEK"))


class Transliterator:
    """Builds the transliterated view. One per matcher; it caches per code point."""

    def __init__(self) -> None:
        self._table = _SoundTable({cp: chr(cp) for cp in range(128)})

    def views(self, text: str) -> list[Rendered]:
        """`text` with every non-Latin letter transliterated (anyascii's reading, then the letter-for-letter
        one where it differs); empty when nothing changes."""
        if text.isascii():
            return []
        table = self._table
        if text.translate(table) == text:
            return []
        keep = _latin_words(text, table)
        first = self._spell(text, [], keep)
        if first.text == text:
            return []  # every other-script letter sits in a Latin word: nothing is read aloud
        out = [first]
        hits = [
            (m.start(), m.end(), _SOUNDS_LIKE[m.group().lower()])
            for m in _SOUNDS_LIKE_RE.finditer(text)
            if m.start() not in keep
        ]
        if hits:
            second = self._spell(text, hits, keep)
            if second.text != out[0].text:
                out.append(second)
        return out

    def _spell(self, text: str, hits: list[tuple[int, int, str]], keep: set[int]) -> Rendered:
        """One reading: each character's transliteration (kept as is where `keep` says), with `hits`
        (start, end, sound) read as one sound each. Built per source character, then indexed in one go."""
        table = self._table
        pieces = [table[ord(c)] for c in text]
        for k in keep:
            pieces[k] = text[k]
        stop = list(range(1, len(text) + 1))
        if hits:
            for k, c in enumerate(text):
                # Letter for letter, vowel points are left out: the letters already carry the sound.
                if k not in keep and unicodedata.category(c) == "Mn":
                    pieces[k] = ""
            for start, end, sound in hits:
                pieces[start] = sound.capitalize() if text[start:end].istitle() else sound
                stop[start] = end
                for k in range(start + 1, end):
                    pieces[k] = ""
        offsets = [k for k, piece in enumerate(pieces) for _ in piece]
        ends = [stop[k] for k in offsets]
        return Rendered("".join(pieces), offsets, ends)
